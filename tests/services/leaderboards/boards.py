"""Helpers of the leaderboard tests: boards, score rows, member preferences, an oracle."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models import Leaderboard, LeaderboardMember, LeaderboardScore, Member, Tier
from app.services.leaderboards.index import board_view
from app.services.leaderboards.reads import BoardReader, BoardView, Entry
from app.services.notifications.outbox import OutboxEntry
from gamification.leaderboards import Metric, Period, order_key, scope_of
from tests import factories

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
_codes = itertools.count(1)


async def board(
    *, period: Period = Period.ALL_TIME, metric: Metric = Metric.POINTS_EARNED, **fields: Any
) -> Leaderboard:
    n = next(_codes)
    fields.setdefault("code", f"board-{n}")
    return await Leaderboard.create(
        name=f"Board {n}",
        metric=metric,
        period=period,
        created_at=factories.now(),
        updated_at=factories.now(),
        **fields,
    )


async def score(
    member: Member | int,
    value: int,
    *,
    at: datetime = T0,
    seq: int,
    period_key: str = "lifetime",
    metric: Metric = Metric.POINTS_EARNED,
) -> None:
    """Set a member's truth row (as apply_changes leaves it)."""
    member_id = member if isinstance(member, int) else member.id
    await LeaderboardScore.update_or_create(
        metric=metric.value,
        period_key=period_key,
        member_id=member_id,
        defaults={
            "score": value,
            "reached_at": at,
            "reached_seq": seq,
            "scope": scope_of(metric, period_key),
        },
    )


async def prefer(member: Member | int, *, visible: bool = True, flagged: bool = False) -> None:
    member_id = member if isinstance(member, int) else member.id
    await LeaderboardMember.update_or_create(
        member_id=member_id,
        defaults={
            "visible": visible,
            "flagged_at": factories.now() if flagged else None,
            "updated_at": factories.now(),
        },
    )


async def move_to_tier(member: Member, code: str) -> None:
    tier = await Tier.get(code=code)
    await Member.filter(id=member.id).update(tier_id=tier.id)


def moved(member_id: int, *pairs: tuple[Metric, str], topic: str = "event.recorded") -> OutboxEntry:
    """An outbox entry as a change that moved ``pairs`` of ``member_id`` writes it."""
    return OutboxEntry(
        id=0,
        topic=topic,
        payload={"member_id": member_id, "scores": [[m.value, k] for m, k in pairs]},
        created_at=factories.now(),
    )


async def everything(reader: BoardReader, view: BoardView) -> list[Entry]:
    return await reader.page(view, offset=0, limit=10_000)


async def expected(view: BoardView) -> list[tuple[int, int]]:
    """The board worked out in Python from the truth rows: (member id, score) in order."""
    rows = await LeaderboardScore.filter(metric=view.metric.value, period_key=view.period_key)
    prefs = {p.member_id: p for p in await LeaderboardMember.all()}
    tiers = {t.id: t.code for t in await Tier.all()}
    members = {m.id: tiers[m.tier_id] for m in await Member.all()}
    on = []
    for row in rows:
        pref = prefs.get(row.member_id)
        if pref is not None and not (pref.visible and pref.member_active):
            continue
        if view.exclude_flagged and pref is not None and pref.flagged_at is not None:
            continue
        if view.tier_code is not None and members[row.member_id] != view.tier_code:
            continue
        on.append(row)
    on.sort(key=lambda r: order_key(r.score, r.reached_at, r.reached_seq))
    return [(r.member_id, r.score) for r in on]


def view_of(board_: Leaderboard, period_key: str = "lifetime") -> BoardView:
    return board_view(board_, period_key)


def seconds(n: int) -> timedelta:
    return timedelta(seconds=n)
