"""Leaderboard definitions (marketers, audited), member opt-out, admin flags, board lookup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.models import Leaderboard, LeaderboardMember, Member, OutboxMessage, Season
from app.services.leaderboards.reads import BoardView
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import archive_entry, create_entry
from app.services.shared.errors import InvalidInput, NotFound
from app.services.shared.lookups import get_locked_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from app.services.tiers.ladder import tiers_in_force
from gamification.leaderboards import (
    BoardSeason,
    Metric,
    Period,
    check_board,
    period_key_for,
    period_name,
)

BOARD_FIELDS = (
    "code",
    "name",
    "description",
    "metric",
    "period",
    "season_id",
    "tier_code",
    "visible_from",
    "visible_to",
    "exclude_flagged",
    "archived_at",
)
# What a board is about cannot change once members compete on it: make a new board.
FIXED_FIELDS = ("metric", "period", "season_id")


@dataclass(frozen=True, slots=True)
class BoardDefinition:
    code: str
    name: str
    metric: Metric
    period: Period
    description: str = ""
    season_id: int | None = None
    tier_code: str | None = None
    visible_from: datetime | None = None
    visible_to: datetime | None = None
    exclude_flagged: bool = True


async def _check(fields: dict[str, Any], *, now: datetime) -> None:
    season_id = fields.get("season_id")
    problems = check_board(
        code=fields["code"],
        name=fields["name"],
        description=fields["description"],
        period=fields["period"],
        has_season=season_id is not None,
        tier_code=fields.get("tier_code"),
        tier_codes=[t.code for t in await tiers_in_force(now=now)],
        visible_from=fields.get("visible_from"),
        visible_to=fields.get("visible_to"),
    )
    if season_id is not None and not await Season.filter(id=season_id).exists():
        raise NotFound("Season", season_id)
    if problems:
        raise InvalidInput(problems)


async def create_board(*, definition: BoardDefinition, actor: Actor, now: datetime) -> Leaderboard:
    fields = {name: getattr(definition, name) for name in BoardDefinition.__slots__}
    fields["name"] = definition.name.strip()
    await _check(fields, now=now)
    taken = InvalidInput.single("code", f"{definition.code!r} is already used")
    return await create_entry(
        Leaderboard,
        {**fields, "created_at": now, "updated_at": now},
        "leaderboard.create",
        BOARD_FIELDS,
        actor=actor,
        now=now,
        taken=taken,
    )


async def update_board(
    *, board_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Leaderboard:
    """Change a board's name, description, tier filter, visibility window or flag rule."""
    update = PartialUpdate(
        changes,
        changeable=[f for f in BoardDefinition.__slots__ if f not in FIXED_FIELDS],
        refusal="cannot be changed: create a new board instead",
    ).stripped("name")
    async with in_transaction() as conn:
        board = await get_locked_or_not_found(Leaderboard, board_id, conn=conn)
        if board.archived_at is not None:
            raise InvalidInput.single("id", "an archived board cannot be changed")
        await _check(update.merged(board, BoardDefinition.__slots__), now=now)
        async with audited(
            conn,
            actor=actor,
            action="leaderboard.update",
            subject=board,
            fields=BOARD_FIELDS,
            now=now,
        ):
            written = update.apply(board)
            board.updated_at = now
            try:
                await board.save(using_db=conn, update_fields=[*written, "updated_at"])
            except IntegrityError:
                raise InvalidInput.single("code", "is already used by another board") from None
        await _board_changed(conn, board, now=now)
    outbox_written()
    return board


async def archive_board(*, board_id: int, actor: Actor, now: datetime) -> Leaderboard:
    """Withdraw a board for good (idempotent); its scores stay, they are the programme's."""
    return await archive_entry(
        Leaderboard,
        board_id,
        "leaderboard.archive",
        BOARD_FIELDS,
        actor=actor,
        now=now,
        stamp=("archived_at", "updated_at"),
    )


async def _board_changed(conn: Any, board: Leaderboard, *, now: datetime) -> None:
    """Tell the index a board's filters changed: its keys are rebuilt from the truth."""
    await OutboxMessage.create(
        topic="leaderboard.changed", payload={"board_id": board.id}, created_at=now, using_db=conn
    )


async def boards_page(
    *, first: int, after_id: int | None, include_archived: bool
) -> tuple[list[Leaderboard], bool]:
    query = Leaderboard.all().order_by("id")
    if not include_archived:
        query = query.filter(archived_at__isnull=True)
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


async def visible_board(code: str, *, now: datetime, staff: bool) -> Leaderboard | None:
    """The board members may open now (live, inside its visibility window); staff see
    every board that is not archived."""
    query = Leaderboard.filter(code=code, archived_at__isnull=True)
    if not staff:
        query = query.filter(
            Q(visible_from__isnull=True) | Q(visible_from__lte=now),
            Q(visible_to__isnull=True) | Q(visible_to__gt=now),
        )
    return await query.first()


@dataclass(frozen=True, slots=True)
class OpenBoard:
    """A board in one period: what a read of it needs (its season, the view readers
    answer, and the period as people write it)."""

    board: Leaderboard
    season: Season | None
    view: BoardView
    period_name: str


def _open(
    board: Leaderboard, season: Season | None, *, period: str | None, now: datetime, zone: ZoneInfo
) -> OpenBoard:
    ref = BoardSeason(id=season.id, code=season.code) if season is not None else None
    try:
        key = period_key_for(board.period, at=now, zone=zone, season=ref, name=period)
    except ValueError as exc:
        raise InvalidInput.single("period", str(exc)) from None
    view = BoardView(
        board_id=board.id,
        metric=board.metric,
        period_key=key,
        tier_code=board.tier_code,
        exclude_flagged=board.exclude_flagged,
    )
    name = period_name(key, season_code=ref.code if ref else None)
    return OpenBoard(board=board, season=season, view=view, period_name=name)


async def board_in_period(
    board: Leaderboard, *, period: str | None, now: datetime, zone: ZoneInfo
) -> OpenBoard:
    """The board in the period named as people write it (or the current one);
    InvalidInput on ``period`` when the board has no such period."""
    season = await Season.get(id=board.season_id) if board.season_id is not None else None
    return _open(board, season, period=period, now=now, zone=zone)


async def boards_now(
    boards: list[Leaderboard], *, now: datetime, zone: ZoneInfo
) -> list[OpenBoard]:
    """Each board in its current period (their seasons read in one statement)."""
    season_ids = sorted({b.season_id for b in boards if b.season_id is not None})
    seasons = {s.id: s for s in await Season.filter(id__in=season_ids)} if season_ids else {}
    return [
        _open(b, seasons.get(b.season_id) if b.season_id else None, period=None, now=now, zone=zone)
        for b in boards
    ]


async def joinable_boards(
    *, member_id: int | None, now: datetime, zone: ZoneInfo
) -> list[OpenBoard]:
    """The boards a member can be ranked on now, in the order they were defined, each in
    its current period: live and inside their visibility window, a season board only
    while its season runs, a tier board only for members of that tier. ``member_id``
    None (staff): every such board, whatever its tier."""
    boards = await Leaderboard.filter(
        Q(visible_from__isnull=True) | Q(visible_from__lte=now),
        Q(visible_to__isnull=True) | Q(visible_to__gt=now),
        archived_at__isnull=True,
    ).order_by("id")
    if member_id is not None:
        member = await Member.get_or_none(id=member_id).select_related("tier")
        tier_code = member.tier.code if member is not None else None
        boards = [b for b in boards if b.tier_code is None or b.tier_code == tier_code]
    opened = await boards_now(boards, now=now, zone=zone)
    return [
        o
        for o in opened
        if o.season is None
        or (o.season.archived_at is None and o.season.starts_at <= now < o.season.ends_at)
    ]


async def set_visibility(*, member_id: int, visible: bool, now: datetime) -> None:
    """A member opts out of (or back into) public boards; it still sees its own rank."""
    await _standing_change(member_id, {"visible": visible}, now=now)


async def opted_out(*, member_id: int) -> bool:
    """Has the member opted out of public boards?"""
    return await LeaderboardMember.filter(member_id=member_id, visible=False).exists()


async def flag_member(
    *, member_id: int, flagged: bool, reason: str, actor: Actor, now: datetime
) -> None:
    """An admin takes a member off the boards that exclude flagged members (or back)."""
    reason = reason.strip()
    if flagged and not reason:
        raise InvalidInput.single("reason", "say why the member is flagged")
    if len(reason) > 200:
        raise InvalidInput.single("reason", "must be at most 200 characters")
    changes = {"flagged_at": now if flagged else None, "flag_reason": reason if flagged else ""}
    await _standing_change(member_id, changes, now=now, actor=actor)


async def _standing_change(
    member_id: int, changes: dict[str, Any], *, now: datetime, actor: Actor | None = None
) -> None:
    async with in_transaction() as conn:
        if not await Member.filter(id=member_id).using_db(conn).exists():
            raise NotFound("Member", member_id)
        # Only an admin's flag is audited; a member's own choice of visibility is not.
        async with audited(
            conn,
            actor=actor,
            action="member.flag",
            target_type="Member",
            target_id=member_id,
            now=now,
        ) as change:
            before, after, row = await change_standing(
                conn, member_id=member_id, changes=changes, now=now
            )
            change.before = before
            change.after = {**after, "reason": row.flag_reason}
    outbox_written()


async def change_standing(
    conn: BaseDBAsyncClient, *, member_id: int, changes: dict[str, Any], now: datetime
) -> tuple[dict[str, bool], dict[str, bool], LeaderboardMember]:
    """Change how an existing member stands towards the boards (``LeaderboardMember``
    columns) in the caller's transaction: the standing before and after (opted in,
    flagged) and the row. When what the boards see changed, an outbox row tells the index;
    the caller wakes the relay after its commit (``outbox_written``)."""
    row = await LeaderboardMember.filter(member_id=member_id).using_db(conn).first()
    before = _standing(row)
    was_active = row.member_active if row else True
    if row is None:
        row = await LeaderboardMember.create(
            member_id=member_id, updated_at=now, **changes, using_db=conn
        )
    else:
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = now
        await row.save(using_db=conn, update_fields=[*changes, "updated_at"])
    after = _standing(row)
    if before != after or was_active != row.member_active:
        await OutboxMessage.create(
            topic="leaderboard.member_changed",
            payload={"member_id": member_id, **after, "active": row.member_active},
            created_at=now,
            using_db=conn,
        )
    return before, after, row


def _standing(row: LeaderboardMember | None) -> dict[str, bool]:
    if row is None:
        return {"visible": True, "flagged": False}
    return {"visible": row.visible, "flagged": row.flagged_at is not None}
