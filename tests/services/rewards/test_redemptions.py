"""Redeeming points: stock and balance fall together or not at all, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.models import (
    Member,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    Redemption,
    Reward,
    Tier,
)
from app.services.points.ledger import award_points, balance_mismatches
from app.services.rewards.redemptions import InsufficientPoints, OutOfStock, redeem_reward
from app.services.shared.errors import IdempotencyConflict, InvalidInput, NotFound
from gamification.points.ledger import LedgerKind, LedgerSource
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")


async def member_with(points: int) -> Member:
    member = await factories.member()
    if points:
        await award_points(
            member_id=member.id,
            amount=points,
            reason="Welcome",
            idempotency_key=f"welcome-{member.id}",
            max_amount=1_000_000,
            now=factories.now(),
        )
    return await Member.get(id=member.id)


async def redeem(member: Member, reward: Reward, key: str | None = None):
    return await redeem_reward(
        member_id=member.id, reward_id=reward.id, idempotency_key=key, now=factories.now()
    )


async def test_a_redemption_spends_the_cost_takes_one_from_stock_and_writes_everything():
    member = await member_with(500)
    reward = await factories.reward(name="Coffee", points_cost=120, stock=3)

    redeemed = await redeem(member, reward)

    assert not redeemed.replayed
    assert (await Member.get(id=member.id)).points_balance == 380
    assert (await Reward.get(id=reward.id)).stock == 2
    spend = await PointsLedgerEntry.get(member_id=member.id, kind=LedgerKind.SPEND)
    assert (spend.delta, spend.balance_after, spend.source) == (-120, 380, LedgerSource.REDEMPTION)
    assert spend.reason == "Redeemed: Coffee"
    stored = await Redemption.get(id=redeemed.redemption.id)
    assert (stored.member_id, stored.reward_id, stored.points) == (member.id, reward.id, 120)
    outbox = await OutboxMessage.get(topic="reward.redeemed")
    assert outbox.payload["redemption_id"] == stored.id and outbox.payload["points"] == 120
    notice = await Notification.get(member_id=member.id, kind="reward_redeemed")
    assert "Coffee" in notice.title and "380" in notice.body
    # Spending never counts as earning.
    assert (await Member.get(id=member.id)).lifetime_points == 500
    assert await balance_mismatches() == []


async def test_unlimited_stock_stays_unlimited():
    member = await member_with(300)
    reward = await factories.reward(points_cost=100, stock=None)

    for _ in range(3):
        await redeem(member, reward)

    assert (await Reward.get(id=reward.id)).stock is None
    assert (await Member.get(id=member.id)).points_balance == 0


async def test_insufficient_points_change_nothing():
    member = await member_with(99)
    reward = await factories.reward(points_cost=100, stock=5)

    with pytest.raises(InsufficientPoints) as refused:
        await redeem(member, reward)

    assert (refused.value.balance, refused.value.cost) == (99, 100)
    assert (await Member.get(id=member.id)).points_balance == 99
    # The stock taken before the balance was checked went back with the rollback.
    assert (await Reward.get(id=reward.id)).stock == 5
    assert await PointsLedgerEntry.filter(kind=LedgerKind.SPEND).count() == 0
    assert await Redemption.all().count() == 0
    assert await OutboxMessage.filter(topic="reward.redeemed").count() == 0


async def test_out_of_stock_changes_nothing():
    member = await member_with(1000)
    reward = await factories.reward(points_cost=100, stock=0)

    with pytest.raises(OutOfStock):
        await redeem(member, reward)

    assert (await Member.get(id=member.id)).points_balance == 1000
    assert (await Reward.get(id=reward.id)).stock == 0
    assert await Redemption.all().count() == 0
    assert await PointsLedgerEntry.filter(kind=LedgerKind.SPEND).count() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"starts_at": factories.now() + timedelta(days=1)}, "cannot be redeemed yet"),
        ({"ends_at": factories.now() - timedelta(seconds=1)}, "can no longer be redeemed"),
        ({"min_tier_rank": 1}, "is not offered to your tier"),
        ({"active": False}, "is not available"),
        ({"archived_at": factories.now()}, "is not available"),
    ],
)
async def test_a_reward_outside_its_window_or_audience_is_refused(overrides, message):
    member = await member_with(1000)
    reward = await factories.reward(points_cost=100, stock=5, **overrides)

    with pytest.raises(InvalidInput) as refused:
        await redeem(member, reward)

    assert [(p.field, p.message) for p in refused.value.problems] == [("rewardId", message)]
    assert (await Member.get(id=member.id)).points_balance == 1000
    assert (await Reward.get(id=reward.id)).stock == 5


async def test_a_member_on_a_tier_in_the_audience_may_redeem():
    member = await member_with(1000)
    gold = await Tier.get(code="gold")
    await Member.filter(id=member.id).update(tier_id=gold.id)
    reward = await factories.reward(points_cost=100, min_tier_rank=1, max_tier_rank=2)

    await redeem(member, reward)

    assert (await Member.get(id=member.id)).points_balance == 900


async def test_an_unknown_reward_is_not_found():
    member = await member_with(1000)
    with pytest.raises(NotFound):
        await redeem_reward(member_id=member.id, reward_id=999_999, now=factories.now())


async def test_a_repeated_key_returns_the_first_redemption_and_spends_nothing_more():
    member = await member_with(1000)
    reward = await factories.reward(points_cost=100, stock=5)
    first = await redeem(member, reward, key="tap-1")

    again = await redeem(member, reward, key="tap-1")

    assert again.replayed and again.redemption.id == first.redemption.id
    assert (await Member.get(id=member.id)).points_balance == 900
    assert (await Reward.get(id=reward.id)).stock == 4
    other = await factories.reward(points_cost=10)
    with pytest.raises(IdempotencyConflict):
        await redeem(member, other, key="tap-1")


async def test_concurrent_retries_of_one_key_redeem_once():
    member = await member_with(1000)
    reward = await factories.reward(points_cost=100, stock=5)

    results = await asyncio.gather(*(redeem(member, reward, key="double-tap") for _ in range(10)))

    assert sum(not r.replayed for r in results) == 1
    assert len({r.redemption.id for r in results}) == 1
    assert (await Member.get(id=member.id)).points_balance == 900
    assert (await Reward.get(id=reward.id)).stock == 4


async def test_50_concurrent_redemptions_of_10_in_stock_sell_exactly_10():
    members = [await member_with(500) for _ in range(50)]
    reward = await factories.reward(points_cost=100, stock=10)

    outcomes = await asyncio.gather(*(redeem(m, reward) for m in members), return_exceptions=True)

    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 10
    assert all(isinstance(o, OutOfStock) for o in lost), lost
    assert (await Reward.get(id=reward.id)).stock == 0
    assert await Redemption.filter(reward_id=reward.id).count() == 10
    balances = sorted(
        await Member.filter(id__in=[m.id for m in members]).values_list("points_balance", flat=True)
    )
    assert balances == [400] * 10 + [500] * 40
    assert await PointsLedgerEntry.filter(kind=LedgerKind.SPEND).count() == 10
    assert await balance_mismatches() == []


async def test_50_concurrent_redemptions_by_one_member_never_overdraw():
    member = await member_with(700)
    reward = await factories.reward(points_cost=100, stock=None)

    outcomes = await asyncio.gather(
        *(redeem(member, reward) for _ in range(50)), return_exceptions=True
    )

    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 7
    assert all(isinstance(o, InsufficientPoints) for o in lost), lost
    assert all(o.balance >= 0 for o in lost if isinstance(o, InsufficientPoints))
    assert (await Member.get(id=member.id)).points_balance == 0
    spends = await PointsLedgerEntry.filter(kind=LedgerKind.SPEND).order_by("id")
    # Each spend saw a distinct balance: none read a value and wrote over another's.
    assert sorted(e.balance_after for e in spends) == [0, 100, 200, 300, 400, 500, 600]
    assert await balance_mismatches() == []
