"""Returns and cancellations of recorded events, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.models import (
    Event,
    EventReversal,
    Member,
    OutboxMessage,
    PendingPoints,
    PendingStatus,
    PointsLedgerEntry,
)
from app.services.leaderboards.scores import (
    apply_changes,
    changed_keys,
    changes_for,
    running_seasons,
)
from app.services.notifications.outbox import outbox_written
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_or_not_found
from gamification.activity.reversals import plan_reversal
from gamification.points.ledger import MAX_REASON_LENGTH, LedgerKind, LedgerSource
from gamification.shared.problems import Problem

MAX_REVERSAL_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Reversed:
    reversal: EventReversal
    duplicate: bool


class _OwnerMoved(Exception):
    """The event changed owner (a merge of members) between its read and the lock."""


def default_reversal_key(idempotency_key: str, amount: Decimal | None) -> str:
    """Retries of the same request share a key; two distinct equal partial returns need
    their own ``reversal_key``."""
    return f"{idempotency_key}#{'full' if amount is None else amount.normalize()}"


async def reverse_event(
    *,
    idempotency_key: str,
    reason: str,
    amount: Decimal | None = None,
    reversal_key: str | None = None,
    allow_debt: bool,
    zone: ZoneInfo,
    now: datetime,
) -> Reversed:
    """Take back (part of) what an event earned: compensating ledger row, growth back.

    Never demotes (the scheduled evaluation decides) and, without debt, never takes the
    balance below zero. Exactly once per reversal key, by a unique constraint.
    """
    problems: list[Problem] = []
    if not reason.strip():
        problems.append(Problem("reason", "must not be empty"))
    elif len(reason) > MAX_REASON_LENGTH:
        problems.append(Problem("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
    if reversal_key is not None and not 0 < len(reversal_key) <= MAX_REVERSAL_KEY_LENGTH:
        problems.append(
            Problem("reversalKey", f"must be 1 to {MAX_REVERSAL_KEY_LENGTH} characters")
        )
    if problems:
        raise InvalidInput(problems)
    key = reversal_key or default_reversal_key(idempotency_key, amount)
    event = await get_or_not_found(Event, idempotency_key, idempotency_key=idempotency_key)
    existing = await EventReversal.get_or_none(reversal_key=key)
    if existing is not None:
        return Reversed(existing, duplicate=True)
    try:
        async with in_transaction() as conn:
            member = (
                await Member.filter(id=event.member_id).select_for_update().using_db(conn).get()
            )
            # Re-read under the member lock: a concurrent retry may have just committed.
            done = await EventReversal.get_or_none(reversal_key=key, using_db=conn)
            if done is not None:
                return Reversed(done, duplicate=True)
            event = await Event.get(id=event.id, using_db=conn)
            if event.member_id != member.id:
                raise _OwnerMoved()
            # Points still in the return window are taken from the pending row, never from
            # the balance: no ledger row, no debt. The member lock orders this against the
            # release job, which locks the members of the rows it releases first.
            held = await PendingPoints.get_or_none(
                event_id=event.id, status=PendingStatus.PENDING, using_db=conn
            )
            plan = plan_reversal(
                event_amount=event.amount,
                event_points=event.points,
                event_growth=event.growth,
                reversed_amount=event.reversed_amount,
                reversed_points=event.reversed_points,
                reversed_growth=event.reversed_growth,
                amount=amount,
                # Inside the window the held points are there to take first.
                balance=member.points_balance + (held.points if held is not None else 0),
                growth_now=member.growth,
                allow_debt=allow_debt,
            )
            if isinstance(plan, list):
                raise InvalidInput(plan)
            reversal = await EventReversal.create(
                event_id=event.id,
                reversal_key=key,
                amount=plan.amount,
                points=plan.points,
                growth=plan.growth,
                points_not_recovered=plan.points_not_recovered,
                reason=reason.strip(),
                created_at=now,
                using_db=conn,
            )
            # The event's held points go first (no ledger row, no debt); the rest (its
            # rule awards and task rewards, credited at once) from the balance as ever.
            cancelled = min(plan.points, held.points) if held is not None else 0
            taken = plan.points - cancelled
            if held is not None and cancelled:
                await (
                    PendingPoints.filter(id=held.id)
                    .using_db(conn)
                    .update(points=F("points") - cancelled)
                )
                if cancelled >= held.points:
                    await (
                        PendingPoints.filter(id=held.id)
                        .using_db(conn)
                        .update(status=PendingStatus.CANCELLED)
                    )
            await (
                Member.filter(id=member.id)
                .using_db(conn)
                .update(
                    points_balance=F("points_balance") - taken,
                    lifetime_points=F("lifetime_points") - plan.points,
                    growth=F("growth") - plan.growth,
                )
            )
            if taken:
                await PointsLedgerEntry.create(
                    member_id=member.id,
                    delta=-taken,
                    kind=LedgerKind.ADJUST,
                    reason=f"Reversal: {reason.strip()}"[:MAX_REASON_LENGTH],
                    source=LedgerSource.REVERSAL,
                    idempotency_key=key,
                    balance_after=member.points_balance - taken,
                    using_db=conn,
                )
            await (
                Event.filter(id=event.id)
                .using_db(conn)
                .update(
                    reversed_amount=F("reversed_amount") + plan.amount,
                    reversed_points=F("reversed_points")
                    + (plan.points + plan.points_not_recovered),
                    reversed_growth=F("reversed_growth") + plan.growth,
                )
            )
            # Taken back from the periods the event counted in.
            scores = changes_for(
                seasons=await running_seasons(conn, at=event.occurred_at),
                at=event.occurred_at,
                zone=zone,
                points=-plan.points,
                growth=-plan.growth,
                tasks_completed=0,
            )
            message = await OutboxMessage.create(
                topic="event.reversed",
                payload={
                    "member_id": member.id,
                    "event_id": event.id,
                    "points": -taken,
                    "growth": -plan.growth,
                    "balance": member.points_balance - taken,
                    **({"pendingPointsCancelled": cancelled} if cancelled else {}),
                    "scores": changed_keys(scores),
                },
                created_at=now,
                using_db=conn,
            )
            await apply_changes(
                conn, member_id=member.id, changes=scores, reached_at=now, seq=message.id
            )
    except _OwnerMoved:
        # A merge moved the event to its survivor while this waited for the lock: again,
        # under the survivor's lock.
        return await reverse_event(
            idempotency_key=idempotency_key,
            reason=reason,
            amount=amount,
            reversal_key=reversal_key,
            allow_debt=allow_debt,
            zone=zone,
            now=now,
        )
    except IntegrityError:
        existing = await EventReversal.get_or_none(reversal_key=key)
        if existing is None:
            raise
        return Reversed(existing, duplicate=True)
    outbox_written()
    return Reversed(reversal, duplicate=False)
