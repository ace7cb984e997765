"""Recording member activity: one event, all its consequences, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.models import (
    Badge,
    Event,
    EventType,
    GrowthTask,
    Member,
    MemberBadge,
    MemberFact,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    TaskCompletion,
    TaskProgressRow,
    TaskStatus,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.benefits import grant_tier_benefits, seasonal_points_multiplier
from app.services.errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    ProgrammeNotConfigured,
    ServiceError,
)
from app.services.ladder import ladder_in_force
from app.services.leaderboard_scores import (
    apply_changes,
    changed_keys,
    changes_for,
    running_seasons,
)
from app.services.outbox import outbox_written
from app.services.season_switch import grant_running_season_benefits
from gamification.calendar import Season as CalendarSeason
from gamification.calendar import local_day, window_for
from gamification.engine import (
    Event as EngineEvent,
)
from gamification.engine import (
    MemberSnapshot,
    Outcome,
    process_event,
)
from gamification.events import check_event, payload_hash
from gamification.points import LedgerKind, LedgerSource


@dataclass(frozen=True, slots=True)
class EventPolicy:
    """Programme settings that shape how events are accepted and counted."""

    zone: ZoneInfo
    backfill_window: timedelta = timedelta(days=30)
    growth_window: timedelta = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: dict[str, Any]
    duplicate: bool
    dry_run: bool
    event_id: int | None


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event of a batch, as a back end reports it (exactly one member reference)."""

    type: str
    occurred_at: datetime
    idempotency_key: str
    member_id: int | None = None
    external_member_id: str | None = None
    amount: Decimal = Decimal(0)
    attributes: Mapping[str, Any] | None = None


# The most events one recordEvents call (or one import chunk) carries.
MAX_BATCH = 500


async def record_events(
    inputs: Sequence[EventInput], *, dry_run: bool = False, policy: EventPolicy, now: datetime
) -> list[Recorded | ServiceError]:
    """Record a batch: one result per input, in input order, each a :class:`Recorded` or
    the expected failure of that item (one bad item never fails the others)."""
    results: list[Recorded | ServiceError] = []
    for item in inputs:
        try:
            results.append(
                await record_event(
                    member_id=item.member_id,
                    external_member_id=item.external_member_id,
                    type=item.type,
                    occurred_at=item.occurred_at,
                    amount=item.amount,
                    attributes=item.attributes,
                    idempotency_key=item.idempotency_key,
                    dry_run=dry_run,
                    policy=policy,
                    now=now,
                )
            )
        except ServiceError as error:
            results.append(error)
    return results


class _DryRun(Exception):
    def __init__(self, outcome: dict[str, Any]) -> None:
        self.outcome = outcome


async def record_event(
    *,
    member_id: int | None = None,
    external_member_id: str | None = None,
    type: str,
    occurred_at: datetime,
    amount: Decimal = Decimal(0),
    attributes: Mapping[str, Any] | None = None,
    idempotency_key: str,
    dry_run: bool = False,
    policy: EventPolicy,
    now: datetime,
) -> Recorded:
    """Record an event exactly once and apply what the engine decides.

    Everything happens in one transaction that starts by locking the member row: every
    event of one member queues there (SQLite serialises all write transactions anyway), so
    the snapshot the engine reads cannot go stale. The event row, with its unique
    idempotency key, is inserted once the outcome is known; a concurrent or repeated event
    under the same key fails that insert, rolls back, and replays the stored outcome. The
    same key with a different payload is an :class:`IdempotencyConflict`. A dry run does
    all the work and rolls it back.
    """
    if (member_id is None) == (external_member_id is None):
        raise InvalidInput.single("memberId", "give exactly one of memberId and externalMemberId")
    attributes = dict(attributes or {})
    fingerprint = ""
    try:
        async with in_transaction() as conn:
            member = await _lock_member(conn, member_id, external_member_id)
            event_type = await EventType.get_or_none(code=type, active=True).using_db(conn)
            if event_type is None:
                raise NotFound("EventType", type)
            problems = check_event(
                amount=amount,
                occurred_at=occurred_at,
                attributes=attributes,
                idempotency_key=idempotency_key,
                joined_at=member.joined_at,
                now=now,
                backfill_window=policy.backfill_window,
            )
            if problems:
                raise InvalidInput(problems)
            fingerprint = payload_hash(
                member_id=member.id,
                type=type,
                occurred_at=occurred_at,
                amount=amount,
                attributes=attributes,
            )
            event = Event(
                member_id=member.id,
                type=type,
                occurred_at=occurred_at,
                amount=amount,
                attributes=attributes,
                idempotency_key=idempotency_key,
                payload_hash=fingerprint,
                recorded_at=now,
            )
            outcome = await _apply(
                conn, member=member, event=event, event_type=event_type, policy=policy, now=now
            )
            if dry_run:
                raise _DryRun(outcome)
    except _DryRun as rolled_back:
        # A key recorded before never gets here: saving the event raised IntegrityError.
        return Recorded(rolled_back.outcome, duplicate=False, dry_run=True, event_id=None)
    except IntegrityError:
        existing = await Event.get_or_none(idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _replay(existing, fingerprint, dry_run=dry_run)
    outbox_written()
    return Recorded(outcome, duplicate=False, dry_run=False, event_id=event.id)


async def _lock_member(
    conn: BaseDBAsyncClient, member_id: int | None, external_id: str | None
) -> Member:
    query = (
        Member.filter(id=member_id)
        if member_id is not None
        else Member.filter(external_id=external_id)
    )
    member = await query.select_for_update().using_db(conn).first()
    if member is None:
        raise NotFound("Member", member_id if member_id is not None else external_id)
    return member


def _replay(event: Event, fingerprint: str, *, dry_run: bool) -> Recorded:
    if event.payload_hash != fingerprint:
        raise IdempotencyConflict(event.idempotency_key)
    return Recorded(event.outcome, duplicate=True, dry_run=dry_run, event_id=event.id)


async def _apply(
    conn: BaseDBAsyncClient,
    *,
    member: Member,
    event: Event,
    event_type: EventType,
    policy: EventPolicy,
    now: datetime,
) -> dict[str, Any]:
    """Read the member's snapshot, run the engine, write its outcome (event row included)."""
    version = await ladder_in_force(now=now, using_db=conn)
    if version is None:
        raise ProgrammeNotConfigured()
    tiers = await Tier.filter(ladder_version_id=version.id).using_db(conn).order_by("rank")
    held_tier = next((t for t in tiers if t.id == member.tier_id), None)
    if held_tier is None:  # the member's tier belongs to an older ladder version
        held_tier = await Tier.get(id=member.tier_id).using_db(conn)
    current = next((t for t in tiers if t.rank == held_tier.rank), tiers[0])

    tasks = [
        t.to_rule()
        for t in await GrowthTask.filter(event_type=event.type, status=TaskStatus.ACTIVE)
        .using_db(conn)
        .select_related("season")
    ]
    keys = {
        span.key
        for task in tasks
        if (
            span := window_for(task.window, event.occurred_at, zone=policy.zone, season=task.season)
        )
    }
    progress_rows = (
        await TaskProgressRow.filter(
            member_id=member.id, task_id__in=[t.id for t in tasks], window_key__in=keys
        ).using_db(conn)
        if tasks
        else []
    )
    facts = {f.key: f.value for f in await MemberFact.filter(member_id=member.id).using_db(conn)}
    badges = await Badge.all().using_db(conn)
    held: dict[int, int] = {}
    if badges:
        for award in await MemberBadge.filter(member_id=member.id).using_db(conn):
            held[award.badge_id] = max(held.get(award.badge_id, 0), award.level)
    day = local_day(event.occurred_at, zone=policy.zone)
    seasons = await running_seasons(conn, at=event.occurred_at)
    first_of_day = await _claim_active_day(conn, member_id=member.id, day=day)

    outcome = process_event(
        event=EngineEvent(type=event.type, occurred_at=event.occurred_at, amount=event.amount),
        event_type=event_type.to_rule(),
        member=MemberSnapshot(
            tier_rank=current.rank, growth=member.growth, lifetime_points=member.lifetime_points
        ),
        ladder=[t.to_rule() for t in tiers],
        weights=version.growth_weights(),
        tasks=tasks,
        progress={(r.task_id, r.window_key): r.to_progress() for r in progress_rows},
        completions_so_far={t.id: facts.get(f"task:{t.code}", 0) for t in tasks},
        facts=facts,
        badges=[b.to_rule() for b in badges],
        held_badges={b.code: held.get(b.id, 0) for b in badges},
        first_event_of_day=first_of_day,
        multiplier=current.multiplier
        * await seasonal_points_multiplier(
            conn, tier_code=current.code, season_ids=[s.id for s in seasons]
        ),
        zone=policy.zone,
        now=now,
        growth_window=policy.growth_window,
    )
    summary = _summary(outcome)
    event.outcome = summary
    event.points = outcome.points
    event.growth = outcome.growth
    # Claims the idempotency key: a duplicate fails here and the transaction rolls back.
    await event.save(using_db=conn)
    await _write(
        conn,
        member=member,
        event=event,
        outcome=outcome,
        badges={b.code: b for b in badges},
        tiers={t.rank: t for t in tiers},
        version_id=version.id,
        seasons=seasons,
        zone=policy.zone,
        now=now,
    )
    return summary


async def _claim_active_day(conn: BaseDBAsyncClient, *, member_id: int, day: date) -> bool:
    """Whether this is the member's first event on its local day, as the table of active days
    decides it: the day's row is inserted unless it is there, and RETURNING says which.

    No fact kept beside the table is asked (one loaded without the other once made a
    check-in fail on the table's unique key). A rolled-back event (a dry run, a duplicate
    key) takes its row with it.
    """
    if conn.capabilities.dialect == "postgres":
        values, params = "($1, $2)", [member_id, day]
    else:  # SQLite keeps a DateField as ISO text
        values, params = "(?, ?)", [member_id, day.isoformat()]
    # execute_query_dict: tortoise's execute_query drops an INSERT's RETURNING rows on asyncpg.
    rows = await conn.execute_query_dict(
        f"INSERT INTO member_active_day (member_id, day) VALUES {values} "
        "ON CONFLICT (member_id, day) DO NOTHING RETURNING id",
        params,
    )
    return bool(rows)


async def _write(
    conn: BaseDBAsyncClient,
    *,
    member: Member,
    event: Event,
    outcome: Outcome,
    badges: dict[str, Badge],
    tiers: dict[int, Tier],
    version_id: int,
    seasons: list[CalendarSeason],
    zone: ZoneInfo,
    now: datetime,
) -> None:
    points = outcome.points
    if points or outcome.growth:
        await (
            Member.filter(id=member.id)
            .using_db(conn)
            .update(
                points_balance=F("points_balance") + points,
                lifetime_points=F("lifetime_points") + points,
                growth=F("growth") + outcome.growth,
            )
        )
    if outcome.ledger:
        # The balance was read under the member lock, so it is current.
        running = member.points_balance
        rows = []
        for n, line in enumerate(outcome.ledger, start=1):
            running += line.delta
            rows.append(
                PointsLedgerEntry(
                    member_id=member.id,
                    delta=line.delta,
                    kind=LedgerKind.EARN,
                    reason=line.reason[:200],
                    source=LedgerSource.EVENT,
                    idempotency_key=f"{event.id}:{n}",
                    balance_after=running,
                )
            )
        await PointsLedgerEntry.bulk_create(rows, using_db=conn)
    if outcome.progress:
        await TaskProgressRow.bulk_create(
            [
                TaskProgressRow(
                    member_id=member.id,
                    task_id=state.task_id,
                    window_key=state.window_key,
                    count=state.count,
                    total=state.total,
                    days=state.days,
                    streak=state.streak,
                    last_day=state.last_day,
                    completions=state.completions,
                    updated_at=now,
                )
                for state in outcome.progress
            ],
            on_conflict=("member_id", "task_id", "window_key"),
            update_fields=(
                "count",
                "total",
                "days",
                "streak",
                "last_day",
                "completions",
                "updated_at",
            ),
            using_db=conn,
        )
    if outcome.completions:
        await TaskCompletion.bulk_create(
            [
                TaskCompletion(
                    member_id=member.id,
                    task_id=c.task.id,
                    window_key=c.window_key,
                    event_id=event.id,
                    points=c.points,
                    growth=c.growth,
                    completed_at=now,
                )
                for c in outcome.completions
            ],
            using_db=conn,
        )
    if outcome.facts:
        await MemberFact.bulk_create(
            [MemberFact(member_id=member.id, key=k, value=v) for k, v in outcome.facts.items()],
            on_conflict=("member_id", "key"),
            update_fields=("value",),
            using_db=conn,
        )
    if outcome.badges:
        await MemberBadge.bulk_create(
            [
                MemberBadge(
                    member_id=member.id,
                    badge_id=badges[a.badge.code].id,
                    level=a.level,
                    earned_at=now,
                )
                for a in outcome.badges
            ],
            using_db=conn,
        )
    if outcome.promotion is not None:
        to_tier = tiers[outcome.promotion.to_tier.rank]
        await Member.filter(id=member.id).using_db(conn).update(tier_id=to_tier.id)
        change = await TierChange.create(
            member_id=member.id,
            from_tier_id=member.tier_id,
            to_tier_id=to_tier.id,
            reason=TierChangeReason.PROMOTION,
            ladder_version_id=version_id,
            changed_at=now,
            using_db=conn,
        )
        # What the new tier unlocks, in this transaction: its own benefits (again, for a
        # member coming back to it) and those of the seasons running now that name it
        # (each announced as benefits.granted).
        await grant_tier_benefits(
            conn, member_id=member.id, tier_code=to_tier.code, now=now, stay=change.id
        )
        await grant_running_season_benefits(
            conn, member_id=member.id, tier_code=to_tier.code, now=now
        )
    if outcome.notices:
        await Notification.bulk_create(
            [
                Notification(
                    member_id=member.id,
                    kind=n.kind.value,
                    title=n.title,
                    body=n.body,
                    data=dict(n.data),
                    created_at=now,
                )
                for n in outcome.notices
            ],
            using_db=conn,
        )
    scores = changes_for(
        seasons=seasons,
        at=event.occurred_at,
        zone=zone,
        points=outcome.points,
        growth=outcome.growth,
        tasks_completed=len(outcome.completions),
    )
    message = await OutboxMessage.create(
        topic="event.recorded",
        payload={
            "member_id": member.id,
            "event_id": event.id,
            # The balance after this event (the member row is locked, so it is exact).
            "balance": member.points_balance + outcome.points,
            "scores": changed_keys(scores),
            **event.outcome,
        },
        created_at=now,
        using_db=conn,
    )
    await apply_changes(conn, member_id=member.id, changes=scores, reached_at=now, seq=message.id)


def _summary(outcome: Outcome) -> dict[str, Any]:
    """The outcome as stored on the event and returned to callers (JSON-safe)."""
    promotion = outcome.promotion
    return {
        "points": outcome.points,
        "growth": outcome.growth,
        "tasksCompleted": [
            {"code": c.task.code, "name": c.task.name, "points": c.points, "growth": c.growth}
            for c in outcome.completions
        ],
        "badgesEarned": [
            {"code": a.badge.code, "name": a.badge.name, "level": a.level} for a in outcome.badges
        ],
        "tierChange": (
            {"from": promotion.from_tier.code, "to": promotion.to_tier.code} if promotion else None
        ),
    }
