"""Points: awards written to the append-only ledger beside an atomic balance update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.db import connection
from app.models import Member, OutboxMessage, PointsLedgerEntry
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberMergedAway,
    NotFound,
)
from gamification.points.adjustments import check_adjustment
from gamification.points.ledger import LedgerKind, LedgerSource, check_award


@dataclass(frozen=True, slots=True)
class Award:
    entry: PointsLedgerEntry
    # True when the idempotency key had been used: ``entry`` is the first award, and
    # nothing new was written.
    replayed: bool


async def award_points(
    *,
    member_id: int,
    amount: int,
    reason: str,
    idempotency_key: str,
    max_amount: int,
    now: datetime,
    actor: Actor | None = None,
) -> Award:
    """Add ``amount`` points to a member, exactly once per idempotency key.

    The balance moves by one UPDATE ... SET balance = balance + amount (the row lock it
    takes serialises concurrent awards on PostgreSQL; SQLite serialises write transactions),
    and the ledger row records the balance that UPDATE produced. The unique (source, key)
    constraint turns a repeated or concurrent duplicate into a rollback of the whole award.
    With an ``actor`` (a person, not a test or a script) the award is audited.
    """
    problems = check_award(
        amount=amount, reason=reason, idempotency_key=idempotency_key, max_amount=max_amount
    )
    if problems:
        raise InvalidInput(problems)
    return await _manual_entry(
        member_id=member_id,
        delta=amount,
        kind=LedgerKind.EARN,
        reason=reason.strip(),
        idempotency_key=idempotency_key,
        allow_debt=False,
        actor=actor,
        action="points.award",
        now=now,
    )


async def adjust_points(
    *,
    member_id: int,
    delta: int,
    reason: str,
    idempotency_key: str,
    max_amount: int,
    allow_debt: bool,
    actor: Actor,
    now: datetime,
) -> Award:
    """An admin's correction, up or down, with a mandatory reason; audited.

    A correction down never takes the balance below zero unless the programme allows
    debt: the UPDATE only matches while the balance covers it.
    """
    problems = check_adjustment(
        delta=delta, reason=reason, idempotency_key=idempotency_key, max_amount=max_amount
    )
    if problems:
        raise InvalidInput(problems)
    return await _manual_entry(
        member_id=member_id,
        delta=delta,
        kind=LedgerKind.ADJUST,
        reason=reason.strip(),
        idempotency_key=idempotency_key,
        allow_debt=allow_debt,
        actor=actor,
        action="points.adjust",
        now=now,
    )


async def _manual_entry(
    *,
    member_id: int,
    delta: int,
    kind: LedgerKind,
    reason: str,
    idempotency_key: str,
    allow_debt: bool,
    actor: Actor | None,
    action: str,
    now: datetime,
) -> Award:
    try:
        async with (
            in_transaction() as conn,
            # No actor (a test or a script, not a person): not audited.
            audited(
                conn,
                actor=actor,
                action=action,
                target_type="Member",
                target_id=member_id,
                now=now,
            ) as change,
        ):
            # A member merged into another holds nothing any more: its survivor is credited.
            target = Member.filter(id=member_id, merged_into_id__isnull=True).using_db(conn)
            if delta < 0 and not allow_debt:
                target = target.filter(points_balance__gte=-delta)
            changes = {"points_balance": F("points_balance") + delta}
            if kind is LedgerKind.EARN:
                changes["lifetime_points"] = F("lifetime_points") + delta
            if not await target.update(**changes):
                member = await Member.get_or_none(id=member_id, using_db=conn)
                if member is None:
                    raise NotFound("Member", member_id)
                if member.merged_into_id is not None:
                    raise MemberMergedAway(member_id, member.merged_into_id)
                raise InvalidInput.single("delta", "would take the balance below zero")
            # Read inside the transaction, under the lock the UPDATE holds.
            # Tortoise types flat values_list results as tuples.
            balance: int = await (  # type: ignore[assignment]
                Member.filter(id=member_id)
                .using_db(conn)
                .first()
                .values_list("points_balance", flat=True)
            )
            entry = await PointsLedgerEntry.create(
                member_id=member_id,
                delta=delta,
                kind=kind,
                reason=reason,
                source=LedgerSource.MANUAL,
                idempotency_key=idempotency_key,
                balance_after=balance,
                using_db=conn,
            )
            await OutboxMessage.create(
                topic="points.adjusted",
                payload={
                    "member_id": member_id,
                    "entry_id": entry.id,
                    "delta": delta,
                    "balance": balance,
                    "reason": reason,
                },
                created_at=now,
                using_db=conn,
            )
            change.before = {"points_balance": int(balance) - delta}
            change.after = {"points_balance": balance, "delta": delta, "reason": reason}
    except IntegrityError:
        first = await PointsLedgerEntry.get_or_none(
            source=LedgerSource.MANUAL, idempotency_key=idempotency_key
        )
        if first is None:
            raise
        if (first.member_id, first.delta, first.kind, first.reason) != (
            member_id,
            delta,
            kind,
            reason,
        ):
            raise IdempotencyConflict(idempotency_key) from None
        return Award(first, replayed=True)
    outbox_written()
    return Award(entry, replayed=False)


async def ledger_page(
    *, member_id: int, first: int, before_id: int | None
) -> tuple[list[PointsLedgerEntry], bool]:
    """A member's ledger, newest first, older than ``before_id``; the flag says if more follow."""
    query = PointsLedgerEntry.filter(member_id=member_id).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    member_id: int
    balance: int
    ledger_sum: int


async def balance_mismatches(*, limit: int = 100) -> list[BalanceMismatch]:
    """Members whose stored balance differs from the sum of their ledger (should be none).

    One set-based query over all members, for the integrity job and the tests.
    """
    rows = await connection().execute_query_dict(
        f"""
        SELECT m.id AS member_id, m.points_balance AS balance,
               COALESCE(l.total, 0) AS ledger_sum
        FROM member m
        LEFT JOIN (
            SELECT member_id, SUM(delta) AS total FROM points_ledger GROUP BY member_id
        ) l ON l.member_id = m.id
        WHERE m.points_balance <> COALESCE(l.total, 0)
        ORDER BY m.id
        LIMIT {int(limit)}
        """
    )
    return [
        BalanceMismatch(int(r["member_id"]), int(r["balance"]), int(r["ledger_sum"])) for r in rows
    ]
