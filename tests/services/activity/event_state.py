"""Helpers of the event-path correctness tests: a member's whole end state, read back
row by row, so that two ways of recording the same events can be compared (concurrent
against one by one, a batch against single calls), and the invariants every end state
keeps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.models import (
    Badge,
    BenefitGrant,
    Event,
    GrowthTask,
    LeaderboardScore,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    Notification,
    PointsLedgerEntry,
    TaskCompletion,
    TaskProgressRow,
    Tier,
    TierChange,
)
from app.services.activity.events import Recorded
from app.services.points.ledger import balance_mismatches
from app.services.shared.errors import InvalidInput, NotFound, ServiceError
from gamification.points.ledger import LedgerKind


async def member_state(member_id: int, *, keys: bool = True) -> dict[str, Any]:
    """Everything recording events wrote for one member, in a form that does not depend on
    row ids (which differ between two databases, or between two members of one). With
    ``keys`` False the events' idempotency keys are left out (a twin member replaying the
    same events under keys of its own)."""
    tiers = {t.id: t.code for t in await Tier.all()}
    tasks = {t.id: t.code for t in await GrowthTask.all()}
    badges = {b.id: b.code for b in await Badge.all()}
    member = await Member.get(id=member_id)
    events = await Event.filter(member_id=member_id).order_by("id")
    return {
        "member": {
            "tier": tiers[member.tier_id],
            "points_balance": member.points_balance,
            "lifetime_points": member.lifetime_points,
            "growth": member.growth,
        },
        "events": [
            (
                e.idempotency_key if keys else None,
                e.type,
                Decimal(e.amount),
                e.occurred_at,
                e.points,
                e.growth,
                e.outcome,
            )
            for e in events
        ],
        "ledger": [
            (row.delta, row.kind, row.reason, row.source, row.balance_after)
            for row in await PointsLedgerEntry.filter(member_id=member_id).order_by("id")
        ],
        "progress": sorted(
            (
                tasks[p.task_id],
                p.window_key,
                p.count,
                Decimal(p.total),
                p.days,
                p.streak,
                p.last_day,
                p.completions,
            )
            for p in await TaskProgressRow.filter(member_id=member_id)
        ),
        "completions": [
            (tasks[c.task_id], c.window_key, c.points, c.growth)
            for c in await TaskCompletion.filter(member_id=member_id).order_by("id")
        ],
        "badges": sorted(
            (badges[b.badge_id], b.level) for b in await MemberBadge.filter(member_id=member_id)
        ),
        "tier_changes": [
            (tiers.get(c.from_tier_id or 0), tiers[c.to_tier_id], c.reason)
            for c in await TierChange.filter(member_id=member_id).order_by("id")
        ],
        "benefit_grants": sorted(
            (g.benefit_id, g.source, g.source_ref, g.status, g.tier_code)
            for g in await BenefitGrant.filter(member_id=member_id)
        ),
        "facts": dict(await MemberFact.filter(member_id=member_id).values_list("key", "value")),
        "active_days": sorted(
            await MemberActiveDay.filter(member_id=member_id).values_list("day", flat=True)
        ),
        "notifications": [
            (n.kind, n.title, n.body, n.data)
            for n in await Notification.filter(member_id=member_id).order_by("id")
        ],
        "scores": sorted(
            (s.metric, s.period_key, s.score)
            for s in await LeaderboardScore.filter(member_id=member_id)
        ),
    }


async def ledger_invariants(*, lifetime: bool = True) -> list[str]:
    """What is wrong with the members' balances, as readable lines (none when all hold):
    every balance is the sum of the member's ledger, each ledger row's ``balance_after``
    the sum of the rows up to it (rows are written under the member's lock, so their ids
    follow the order the balance moved in), and lifetime points the sum of the positive
    earn rows (``lifetime``: when nothing but events and awards wrote the ledger)."""
    wrong = [f"balance {m}" for m in await balance_mismatches()]
    for member in await Member.all().order_by("id"):
        running = 0
        for row in await PointsLedgerEntry.filter(member_id=member.id).order_by("id"):
            running += row.delta
            if row.balance_after != running:
                wrong.append(
                    f"member {member.id}: ledger row {row.id} ({row.source}, {row.delta:+}) "
                    f"says balance_after {row.balance_after}, its rows sum to {running}"
                )
                break
        if not lifetime:
            continue
        rows = PointsLedgerEntry.filter(member_id=member.id, kind=LedgerKind.EARN, delta__gt=0)
        earned = sum(row.delta for row in await rows)
        if member.lifetime_points != earned:
            wrong.append(
                f"member {member.id}: lifetime_points {member.lifetime_points} != "
                f"positive earn rows {earned}"
            )
    return wrong


def comparable(result: Recorded | ServiceError) -> tuple[Any, ...]:
    """A per-item result without what legitimately differs between two databases (ids)."""
    if isinstance(result, Recorded):
        return ("Recorded", result.outcome, result.duplicate, result.dry_run)
    if isinstance(result, InvalidInput):
        return ("InvalidInput", tuple((p.field, p.message) for p in result.problems))
    if isinstance(result, NotFound):
        return ("NotFound", result.kind, str(result.key))
    return (type(result).__name__, str(result))
