"""Cancelling a redemption: inside its window the points come back exactly once, on SQLite
and PostgreSQL (where concurrent cancels really overlap)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import (
    AuditEntry,
    Member,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    Redemption,
    Reward,
)
from app.services.analytics.reports import points_flow
from app.services.notifications.outbox import OutboxEntry
from app.services.points.ledger import award_points, balance_mismatches
from app.services.rewards.redemptions import (
    AlreadyCancelled,
    CancelWindowClosed,
    InsufficientPoints,
    OutOfStock,
    cancel_redemption,
    redeem_reward,
)
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput, NotFound
from app.services.webhooks.events import webhook_events
from gamification.analytics import Granularity
from gamification.points.ledger import LedgerKind, LedgerSource
from gamification.rewards import RedemptionStatus
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

SUPPORT = Actor(subject="support-1", role="marketer")


@pytest.fixture(autouse=True)
def still(clock):
    """The clock stands still where the test starts: deadlines are compared exactly."""
    clock.set(clock.now())


async def member_with(points: int) -> Member:
    member = await factories.member()
    await award_points(
        member_id=member.id,
        amount=points,
        reason="Welcome",
        idempotency_key=f"welcome-{member.id}",
        max_amount=1_000_000,
        now=factories.now(),
    )
    return await Member.get(id=member.id)


async def redeemed(member: Member, reward: Reward, *, default_hours: int = 24) -> Redemption:
    result = await redeem_reward(
        member_id=member.id,
        reward_id=reward.id,
        default_cancel_window_hours=default_hours,
        now=factories.now(),
    )
    return result.redemption


async def cancel(redemption: Redemption, **overrides):
    arguments = {
        "redemption_id": redemption.id,
        "reason": "Changed my mind",
        "actor": SUPPORT,
        "now": factories.now(),
    } | overrides
    return await cancel_redemption(**arguments)


async def test_a_cancel_inside_the_window_gives_the_points_and_the_stock_back(clock):
    # Given a member who spent 120 of 500 points on a reward with 3 in stock
    member = await member_with(500)
    reward = await factories.reward(name="Coffee", points_cost=120, stock=3)
    redemption = await redeemed(member, reward)
    assert redemption.cancellable_until == factories.now() + timedelta(hours=24)

    # When it is cancelled an hour later
    clock.advance(timedelta(hours=1))
    cancelled = await cancel(redemption)

    # Then the points and the stock are back, the ledger says why, and everyone is told
    assert cancelled.balance == 500
    assert (await Member.get(id=member.id)).points_balance == 500
    assert (await Reward.get(id=reward.id)).stock == 3
    stored = await Redemption.get(id=redemption.id)
    assert stored.status is RedemptionStatus.CANCELLED
    assert (stored.cancelled_at, stored.cancel_reason) == (factories.now(), "Changed my mind")
    refund = await PointsLedgerEntry.get(idempotency_key=f"redemption-{redemption.id}-refund")
    assert (refund.delta, refund.kind, refund.source, refund.balance_after) == (
        120,
        LedgerKind.SPEND,
        LedgerSource.REDEMPTION,
        500,
    )
    assert refund.reason == "Refund: Coffee"
    # A refund is a spend undone, not points earned.
    assert (await Member.get(id=member.id)).lifetime_points == 500
    notice = await Notification.get(member_id=member.id, kind="reward_cancelled")
    assert "Coffee" in notice.title and "120 points are back" in notice.body
    audit = await AuditEntry.get(action="redemption.cancel")
    assert (audit.actor, audit.target_id) == ("support-1", str(redemption.id))
    assert audit.after is not None and audit.after["points_refunded"] == 120
    message = await OutboxMessage.get(topic="reward.cancelled")
    entry = OutboxEntry(message.id, message.topic, message.payload, message.created_at)
    [event] = webhook_events(entry)
    assert event.type == "points.refunded"
    assert (event.data["points"], event.data["balance"]) == (120, 500)
    assert await balance_mismatches() == []


async def test_a_second_cancel_refunds_nothing_more():
    member = await member_with(500)
    reward = await factories.reward(points_cost=100)
    redemption = await redeemed(member, reward)
    await cancel(redemption)

    with pytest.raises(AlreadyCancelled) as refused:
        await cancel(redemption, reason="Again")

    assert refused.value.redemption.cancelled_at == factories.now()
    assert (await Member.get(id=member.id)).points_balance == 500
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 3
    assert await AuditEntry.filter(action="redemption.cancel").count() == 1


async def test_a_cancel_after_the_window_is_refused_and_changes_nothing(clock):
    member = await member_with(500)
    reward = await factories.reward(points_cost=100, cancel_window_hours=2, stock=5)
    redemption = await redeemed(member, reward, default_hours=24)

    # The reward's own window (2 hours) wins over the programme's (24); its end is exclusive.
    clock.advance(timedelta(hours=2))
    with pytest.raises(CancelWindowClosed) as refused:
        await cancel(redemption)

    assert refused.value.redemption.cancellable_until == factories.now()
    assert (await Member.get(id=member.id)).points_balance == 400
    assert (await Reward.get(id=reward.id)).stock == 4
    assert (await Redemption.get(id=redemption.id)).status is RedemptionStatus.REDEEMED
    assert await AuditEntry.filter(action="redemption.cancel").count() == 0


async def test_a_window_of_zero_hours_means_never(clock):
    member = await member_with(500)
    reward = await factories.reward(points_cost=100, cancel_window_hours=0)
    redemption = await redeemed(member, reward)

    with pytest.raises(CancelWindowClosed) as refused:
        await cancel(redemption)

    assert redemption.cancellable_until is None
    assert refused.value.redemption.cancellable_until is None
    assert "cannot be cancelled" in str(refused.value)


async def test_a_changed_window_does_not_change_the_deadline_of_earlier_redemptions(clock):
    member = await member_with(500)
    reward = await factories.reward(points_cost=100, cancel_window_hours=48)
    redemption = await redeemed(member, reward)
    await Reward.filter(id=reward.id).update(cancel_window_hours=1)

    clock.advance(timedelta(hours=30))
    await cancel(redemption)

    assert (await Member.get(id=member.id)).points_balance == 500


async def test_a_member_may_cancel_only_its_own_redemptions():
    owner = await member_with(500)
    other = await member_with(500)
    redemption = await redeemed(owner, await factories.reward(points_cost=100))

    with pytest.raises(NotFound):
        await cancel(redemption, member_id=other.id)
    await cancel(redemption, member_id=owner.id)

    assert (await Member.get(id=owner.id)).points_balance == 500


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
async def test_a_reason_is_required(reason):
    member = await member_with(500)
    redemption = await redeemed(member, await factories.reward(points_cost=100))

    with pytest.raises(InvalidInput) as refused:
        await cancel(redemption, reason=reason)

    assert [p.field for p in refused.value.problems] == ["reason"]


async def test_concurrent_cancels_refund_once():
    # Given a redemption of 100 points
    member = await member_with(500)
    reward = await factories.reward(points_cost=100, stock=10)
    redemption = await redeemed(member, reward)

    # When 20 callers cancel it at once
    outcomes = await asyncio.gather(
        *(cancel(redemption, reason=f"call {n}") for n in range(20)), return_exceptions=True
    )

    # Then one refunds, the others are told it is cancelled already
    done = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(done) == 1
    assert all(isinstance(o, AlreadyCancelled) for o in refused), refused
    assert (await Member.get(id=member.id)).points_balance == 500
    assert (await Reward.get(id=reward.id)).stock == 10
    refunds = await PointsLedgerEntry.filter(member_id=member.id, kind=LedgerKind.SPEND, delta=100)
    assert len(refunds) == 1
    assert await OutboxMessage.filter(topic="reward.cancelled").count() == 1
    assert await balance_mismatches() == []


async def test_a_refund_nets_out_of_the_points_spent():
    # Given 500 points earned, 120 spent on a reward, and that redemption cancelled
    member = await member_with(500)
    redemption = await redeemed(member, await factories.reward(points_cost=120))
    await redeemed(member, await factories.reward(points_cost=30))
    await cancel(redemption)

    # When the points flow of the day is read
    now = factories.now()
    [day] = await points_flow(
        granularity=Granularity.DAY,
        starts_at=now.replace(hour=0, minute=0, second=0, microsecond=0),
        ends_at=now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1),
        zone=ZoneInfo("UTC"),
    )

    # Then only the 30 kept are spent (the refund, a positive delta, is among the points
    # issued, as points flow defines them: the sum of positive deltas)
    assert (day.issued, day.spent) == (500 + 120, 30)


# A member's session: awards, redemptions of rewards of various costs (some with a window of
# 0), cancellations of earlier redemptions (some twice), and time passing.
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("award"), st.integers(1, 300)),
        st.tuples(st.just("redeem"), st.sampled_from([50, 120, 400])),
        st.tuples(st.just("redeem-final"), st.just(60)),
        st.tuples(st.just("cancel"), st.integers(0, 9)),
        st.tuples(st.just("wait"), st.sampled_from([1, 30])),
    ),
    max_size=25,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_the_balance_is_the_sum_of_the_ledger_and_never_negative(steps, clock):
    member = await member_with(100)
    rewards = {
        cost: await factories.reward(points_cost=cost, cancel_window_hours=48, stock=3)
        for cost in (50, 120, 400)
    }
    final = await factories.reward(points_cost=60, cancel_window_hours=0)
    made: list[Redemption] = []
    for n, (step, value) in enumerate(steps):
        try:
            if step == "award":
                await award_points(
                    member_id=member.id,
                    amount=value,
                    reason="Step",
                    idempotency_key=f"step-{member.id}-{n}",
                    max_amount=1_000,
                    now=factories.now(),
                )
            elif step in ("redeem", "redeem-final"):
                reward = final if step == "redeem-final" else rewards[value]
                made.append(await redeemed(member, reward))
            elif step == "cancel" and made:
                await cancel(made[value % len(made)])
            elif step == "wait":
                clock.advance(timedelta(hours=value))
        except (InsufficientPoints, OutOfStock, AlreadyCancelled, CancelWindowClosed):
            pass
        balance = (await Member.get(id=member.id)).points_balance
        assert balance >= 0
    assert await balance_mismatches() == []
    stock = await Reward.filter(id__in=[r.id for r in rewards.values()]).values_list("id", "stock")
    held = await Redemption.filter(
        member_id=member.id, status=RedemptionStatus.REDEEMED
    ).values_list("reward_id", flat=True)
    # Stock taken is exactly the redemptions that stand.
    assert {i: 3 - s for i, s in stock} == {r.id: held.count(r.id) for r in rewards.values()}
