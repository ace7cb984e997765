"""Pending points: held for an event type's return window, released once, cancelled by a
return inside the window, clawed back after it; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.models import (
    EventType,
    Member,
    OutboxMessage,
    PendingPoints,
    PendingStatus,
    PointsLedgerEntry,
)
from app.services.activity.reversals import reverse_event
from app.services.points.ledger import balance_mismatches
from app.services.points.pending import pending_points_of, release_pending_points
from tests import clock, factories
from tests.factories import event

pytestmark = pytest.mark.usefixtures("orm")

SALE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned():
    clock.current.set(SALE)


async def purchases_pend(days: int = 14) -> None:
    await EventType.filter(code="purchase").update(pending_days=days)


async def reverse(key: str, amount: str | None = None) -> None:
    await reverse_event(
        idempotency_key=key,
        reason="Returned",
        amount=Decimal(amount) if amount is not None else None,
        allow_debt=False,
        zone=factories.ZONE,
        now=factories.now(),
    )


async def test_a_pending_event_moves_no_balance_and_says_when_its_points_come():
    await purchases_pend()
    member = await factories.member()

    recorded = await event(member, "purchase", amount="200", key="order-1")

    assert recorded.outcome["points"] == 200
    assert recorded.outcome["pointsPending"] == 200
    assert recorded.outcome["pendingUntil"] == (SALE + timedelta(days=14)).isoformat()
    stored = await Member.get(id=member.id)
    assert stored.points_balance == 0
    assert (stored.lifetime_points, stored.growth) == (200, 210)  # earned: they count now
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 0
    (pending,) = await pending_points_of(member.id)
    assert (pending.points, pending.release_at) == (200, SALE + timedelta(days=14))
    assert pending.event_id == recorded.event_id


async def test_an_event_type_without_a_window_credits_at_once():
    member = await factories.member()

    recorded = await event(member, "purchase", amount="200")

    assert "pointsPending" not in recorded.outcome
    assert (await Member.get(id=member.id)).points_balance == 200
    assert await pending_points_of(member.id) == []


async def test_the_release_credits_due_points_once():
    await purchases_pend()
    member = await factories.member()
    other = await factories.member()
    await event(member, "purchase", amount="200", key="order-1")
    await event(member, "purchase", amount="50", key="order-2")
    clock.current.advance(timedelta(days=1))
    await event(other, "purchase", amount="70", key="order-3")  # due a day later

    early = await release_pending_points(now=SALE + timedelta(days=13))
    first = await release_pending_points(now=SALE + timedelta(days=14))
    again = await release_pending_points(now=SALE + timedelta(days=14))

    assert early == {"released": 0, "points": 0}
    assert first == {"released": 2, "points": 250}
    assert again == {"released": 0, "points": 0}
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.lifetime_points) == (250, 250)
    rows = await PointsLedgerEntry.filter(member_id=member.id).order_by("id")
    assert [(r.delta, r.balance_after) for r in rows] == [(200, 200), (50, 250)]
    assert await pending_points_of(member.id) == []
    assert (await Member.get(id=other.id)).points_balance == 0
    assert len(await pending_points_of(other.id)) == 1
    assert await balance_mismatches() == []


async def test_a_release_adds_to_points_earned_meanwhile():
    await purchases_pend()
    member = await factories.member()
    await event(member, "purchase", amount="100", key="order-1")
    await event(member, "check_in")  # credited at once
    balance = (await Member.get(id=member.id)).points_balance

    await release_pending_points(now=SALE + timedelta(days=15))

    assert (await Member.get(id=member.id)).points_balance == balance + 100
    assert await balance_mismatches() == []


async def test_a_return_inside_the_window_cancels_the_pending_points_without_debt():
    await purchases_pend()
    member = await factories.member()
    await event(member, "purchase", amount="200", key="order-1")

    await reverse("order-1")
    released = await release_pending_points(now=SALE + timedelta(days=14))

    assert released == {"released": 0, "points": 0}
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.lifetime_points, stored.growth) == (0, 0, 0)
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 0
    row = await PendingPoints.get(member_id=member.id)
    assert row.status == PendingStatus.CANCELLED


async def test_a_partial_return_inside_the_window_holds_back_the_rest():
    await purchases_pend()
    member = await factories.member()
    await event(member, "purchase", amount="200", key="order-1")

    await reverse("order-1", "50")
    await release_pending_points(now=SALE + timedelta(days=14))

    assert (await Member.get(id=member.id)).points_balance == 150
    assert await balance_mismatches() == []


async def test_a_return_after_release_claws_back_as_ever():
    await purchases_pend()
    member = await factories.member()
    await event(member, "purchase", amount="200", key="order-1")
    await release_pending_points(now=SALE + timedelta(days=14))

    await reverse("order-1")

    stored = await Member.get(id=member.id)
    assert stored.points_balance == 0
    deltas = [r.delta for r in await PointsLedgerEntry.filter(member_id=member.id).order_by("id")]
    assert deltas == [200, -200]
    assert await balance_mismatches() == []


async def test_only_the_events_own_points_pend_and_a_return_takes_the_rest_from_the_balance():
    # A purchase worth 200 of its own that completes a 10-point task
    await purchases_pend()
    await factories.task(code="first-buy", event_type="purchase", reward_points=10)
    member = await factories.member()

    recorded = await event(member, "purchase", amount="200", key="order-1")

    assert (recorded.outcome["points"], recorded.outcome["pointsPending"]) == (210, 200)
    assert (await Member.get(id=member.id)).points_balance == 10  # the task's reward, now

    await reverse("order-1")

    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.lifetime_points) == (0, 0)
    assert (await PendingPoints.get(member_id=member.id)).status == PendingStatus.CANCELLED
    assert await balance_mismatches() == []


async def test_the_release_is_told_once_per_event():
    await purchases_pend()
    member = await factories.member()
    recorded = await event(member, "purchase", amount="40", key="order-1")

    await release_pending_points(now=SALE + timedelta(days=14))
    await release_pending_points(now=SALE + timedelta(days=15))

    (told,) = await OutboxMessage.filter(topic="points.released")
    assert told.payload == {
        "member_id": member.id,
        "event_id": recorded.event_id,
        "points": 40,
        "balance": 40,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_balances_always_equal_their_ledger_whatever_the_order(seed):
    # Random purchases (pending), check-ins (at once), returns and releases, in any order
    rng = random.Random(seed)
    await purchases_pend(3)
    members = [await factories.member() for _ in range(3)]
    purchases: list[str] = []
    for step in range(30):
        clock.current.advance(timedelta(hours=rng.randrange(1, 30)))
        move = rng.random()
        member = rng.choice(members)
        if move < 0.4:
            key = f"order-{step}"
            await event(member, "purchase", amount=str(rng.randrange(1, 300)), key=key)
            purchases.append(key)
        elif move < 0.55:
            await event(member, "check_in")
        elif move < 0.75 and purchases:
            key = purchases.pop(rng.randrange(len(purchases)))
            await reverse(key, None if rng.random() < 0.5 else "1")
        else:
            await release_pending_points(now=factories.now())
        assert await balance_mismatches() == []

    # Once every window has closed, what each member earned is in its balance
    await release_pending_points(now=factories.now() + timedelta(days=4))
    for member in members:
        stored = await Member.get(id=member.id)
        assert stored.points_balance == stored.lifetime_points
        assert await pending_points_of(member.id) == []
    assert await balance_mismatches() == []


async def test_releases_and_returns_racing_count_each_point_once():
    # Ten pending purchases of one member, due now
    await purchases_pend()
    member = await factories.member()
    for n in range(10):
        await event(member, "purchase", amount="10", key=f"order-{n}")
    due = SALE + timedelta(days=14)

    # When two release runs and five returns race
    await asyncio.gather(
        release_pending_points(now=due),
        *(reverse(f"order-{n}") for n in range(5)),
        release_pending_points(now=due),
    )

    # Then each purchase was either released or cancelled, once: 50 points remain
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.lifetime_points) == (50, 50)
    assert await pending_points_of(member.id) == []
    assert await balance_mismatches() == []


async def test_points_pending_for_a_merged_away_member_are_released_to_the_survivor():
    # Given a duplicate whose purchase is still in its return window, merged into a survivor
    from app.services.members.merging import merge_members
    from app.services.shared.audit import Actor

    await purchases_pend()
    survivor, duplicate = await factories.member(), await factories.member()
    await event(duplicate, "purchase", amount="200", key="order-1")
    await merge_members(
        survivor_id=survivor.id,
        duplicate_id=duplicate.id,
        actor=Actor(subject="test-admin", role="admin"),
        now=factories.now(),
    )

    # When the window ends and the release runs
    await release_pending_points(now=SALE + timedelta(days=14))

    # Then the survivor, not the merged-away row, is credited, and every balance is its ledger
    assert (await Member.get(id=survivor.id)).points_balance == 200
    assert (await Member.get(id=duplicate.id)).points_balance == 0
    assert await balance_mismatches() == []
