"""Returns and cancellations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from app.models import Member, PointsLedgerEntry, TierChange
from app.services.activity.reversals import reverse_event
from app.services.points.ledger import balance_mismatches
from app.services.shared.errors import InvalidInput, NotFound
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.factories import event

pytestmark = pytest.mark.usefixtures("orm")


async def reverse(key, amount=None, *, reversal_key=None, allow_debt=False, reason="Returned"):
    return await reverse_event(
        idempotency_key=key,
        reason=reason,
        amount=Decimal(amount) if amount is not None else None,
        reversal_key=reversal_key,
        allow_debt=allow_debt,
        zone=factories.ZONE,
        now=factories.now(),
    )


async def test_a_full_return_takes_back_the_points_and_growth_once():
    member = await factories.member()
    await event(member, "purchase", amount="200", key="order-1")  # 200 points, 210 growth

    first = await reverse("order-1")
    again = await reverse("order-1")

    assert (first.reversal.points, first.reversal.growth) == (200, 210)
    assert again.duplicate and again.reversal.id == first.reversal.id
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.growth) == (0, 0)
    assert await PointsLedgerEntry.filter(member_id=member.id, delta__lt=0).count() == 1
    assert await balance_mismatches() == []


async def test_partial_returns_add_up_to_the_full_event():
    member = await factories.member()
    await event(member, "purchase", amount="99.99", key="order-2")  # 99 points

    parts = [await reverse("order-2", "33.33", reversal_key=f"r{i}") for i in range(3)]

    assert sum(p.reversal.points for p in parts) == 99
    assert (await Member.get(id=member.id)).points_balance == 0
    with pytest.raises(InvalidInput, match="already"):
        await reverse("order-2")
    with pytest.raises(InvalidInput):
        await reverse("order-2", "0.01", reversal_key="r4")


async def test_returning_more_than_is_left_is_refused():
    member = await factories.member()
    await event(member, "purchase", amount="50", key="order-3")
    await reverse("order-3", "40")

    with pytest.raises(InvalidInput) as refused:
        await reverse("order-3", "20")

    assert [p.field for p in refused.value.problems] == ["amount"]


async def test_spent_points_are_not_overdrawn_unless_debt_is_allowed():
    member = await factories.member()
    await event(member, "purchase", amount="100", key="order-4")
    await Member.filter(id=member.id).update(points_balance=30)  # as if 70 were spent
    await PointsLedgerEntry.create(
        member_id=member.id,
        delta=-70,
        kind="spend",
        reason="Reward",
        source="manual",
        idempotency_key="spend-1",
        balance_after=30,
    )

    result = await reverse("order-4")

    assert (result.reversal.points, result.reversal.points_not_recovered) == (30, 70)
    assert (await Member.get(id=member.id)).points_balance == 0
    assert await balance_mismatches() == []


async def test_with_debt_allowed_the_balance_may_go_negative():
    member = await factories.member()
    await event(member, "purchase", amount="100", key="order-5")
    await PointsLedgerEntry.create(
        member_id=member.id,
        delta=-70,
        kind="spend",
        reason="Reward",
        source="manual",
        idempotency_key="spend-2",
        balance_after=30,
    )
    await Member.filter(id=member.id).update(points_balance=30)

    await reverse("order-5", allow_debt=True)

    assert (await Member.get(id=member.id)).points_balance == -70
    assert await balance_mismatches() == []


async def test_a_reversal_never_demotes():
    await factories.ladder(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
            TierRule("silver", "Silver", 1, 100, 80, Decimal("1.00")),
        )
    )
    member = await factories.member()
    recorded = await event(member, "purchase", amount="150", key="order-6")
    assert recorded.outcome["tierChange"] == {"from": "member", "to": "silver"}

    await reverse("order-6")

    stored = await Member.get(id=member.id).prefetch_related("tier")
    assert stored.tier.code == "silver" and stored.growth == 0
    assert await TierChange.filter(member_id=member.id, reason="demotion").count() == 0


async def test_concurrent_retries_of_one_reversal_take_back_once():
    member = await factories.member()
    await event(member, "purchase", amount="80", key="order-7")

    results = await asyncio.gather(*(reverse("order-7") for _ in range(20)))

    assert sum(not r.duplicate for r in results) == 1
    assert (await Member.get(id=member.id)).points_balance == 0


async def test_an_unknown_event_is_not_found():
    with pytest.raises(NotFound):
        await reverse("never-recorded")
