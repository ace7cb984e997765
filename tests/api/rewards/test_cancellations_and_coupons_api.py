"""Cancelling redemptions and coupon pools over HTTP, as the member app and the marketer
console use them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Member
from app.services.points.ledger import award_points
from tests import factories
from tests.factories import operation


@pytest.fixture(autouse=True)
def still(clock):
    clock.set(clock.now())


@pytest.fixture
async def member():
    member = await factories.member()
    await award_points(
        member_id=member.id,
        amount=250,
        reason="Welcome",
        idempotency_key="welcome",
        max_amount=1000,
        now=factories.now(),
    )
    return member


@pytest.fixture
async def member_app(client_as, member):
    return await client_as(Role.MEMBER, member)


async def test_a_member_cancels_a_redemption_inside_the_window_and_gets_the_points_back(
    member_app, member, clock
):
    # Given a redemption of a reward cancellable for 2 hours
    reward = await factories.reward(points_cost=100, stock=3, cancel_window_hours=2)
    redeemed = (
        await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", reward.id))
    )["redeemPoints"]
    redemption = redeemed["redemption"]
    assert redemption["status"] == "REDEEMED"
    assert redemption["cancellableUntil"] == (factories.now() + timedelta(hours=2)).isoformat()

    # When the member cancels it, and then tries again
    clock.advance(timedelta(minutes=30))
    cancelled = await operation(member_app, "CancelRedemption", id=redemption["id"], reason="Oops")
    again = await operation(member_app, "CancelRedemption", id=redemption["id"], reason="Oops")

    # Then the points came back once
    result = cancelled["cancelRedemption"]
    assert result["__typename"] == "RedemptionCancelled"
    assert result["balance"] == 250
    assert result["redemption"]["status"] == "CANCELLED"
    assert result["redemption"]["cancelReason"] == "Oops"
    assert result["redemption"]["reward"]["stock"] == 3
    assert again["cancelRedemption"]["__typename"] == "RedemptionAlreadyCancelled"
    assert (await Member.get(id=member.id)).points_balance == 250
    [audit] = await AuditEntry.filter(action="redemption.cancel")
    assert audit.actor_role == "member"


async def test_a_cancel_after_the_window_or_of_another_members_redemption_is_refused(
    member_app, client_as, clock
):
    reward = await factories.reward(points_cost=100, cancel_window_hours=1)
    redemption_id = (
        await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", reward.id))
    )["redeemPoints"]["redemption"]["id"]
    other = await client_as(Role.MEMBER, await factories.member())

    not_theirs = await operation(other, "CancelRedemption", id=redemption_id, reason="Mine?")
    clock.advance(timedelta(hours=1))
    late = await operation(member_app, "CancelRedemption", id=redemption_id, reason="Late")

    assert not_theirs["cancelRedemption"]["__typename"] == "NotFound"
    assert late["cancelRedemption"]["__typename"] == "CancelWindowClosed"
    assert late["cancelRedemption"]["cancellableUntil"] == factories.now().isoformat()


async def test_the_programme_default_window_applies_to_rewards_without_their_own(member_app, clock):
    # The test settings keep LAUREL_REDEMPTION_CANCEL_WINDOW_HOURS at its default, 24.
    reward = await factories.reward(points_cost=100)
    redemption = (
        await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", reward.id))
    )["redeemPoints"]["redemption"]

    assert redemption["cancellableUntil"] == (factories.now() + timedelta(hours=24)).isoformat()


async def test_a_marketer_fills_a_pool_and_members_get_one_code_each_until_it_is_empty(
    marketer, member_app, client_as
):
    # Given a coupon reward with two imported codes and five generated ones
    created = await operation(
        marketer,
        "CreateReward",
        input={"code": "shoe", "name": "Shoe voucher", "pointsCost": 10, "issuesCoupons": True},
    )
    reward_id = created["createReward"]["reward"]["id"]
    imported = await operation(
        marketer, "ImportCoupons", rewardId=reward_id, csv="code\nSHOE-A\nSHOE-B\nSHOE-A\n"
    )
    generated = await operation(
        marketer, "GenerateCoupons", rewardId=reward_id, pattern="SHOE-####-????", count=5
    )
    assert imported["importCoupons"]["added"] == 2
    assert imported["importCoupons"]["duplicates"] == 0
    assert generated["generateCoupons"]["pool"]["total"] == 7

    # When members redeem eight times
    results = [
        (await operation(member_app, "RedeemPoints", rewardId=reward_id))["redeemPoints"]
        for _ in range(8)
    ]

    # Then seven got a code each, all different, and the eighth heard the pool is empty
    codes = [r["redemption"]["couponCode"] for r in results[:7]]
    assert codes[:2] == ["SHOE-A", "SHOE-B"] and len(set(codes)) == 7
    assert results[7]["__typename"] == "CouponsExhausted"
    assert results[7]["rewardId"] == reward_id
    pools = (await operation(marketer, "RewardCouponPools"))["rewards"]["edges"]
    pool = pools[0]["node"]["couponPool"]
    assert (pool["total"], pool["remaining"], pool["issued"]) == (7, 0, 7)
    assert pool["exhaustedAt"] == factories.now().isoformat()


async def test_a_reward_without_a_pool_shows_none(marketer):
    await factories.reward(points_cost=10)

    pools = (await operation(marketer, "RewardCouponPools"))["rewards"]["edges"]

    assert pools[0]["node"]["issuesCoupons"] is False
    assert pools[0]["node"]["couponPool"] is None


async def test_bad_coupon_input_names_the_argument(marketer):
    reward = await factories.reward(issues_coupons=True)
    reward_id = encode_id("Reward", reward.id)

    pattern = await operation(marketer, "GenerateCoupons", rewardId=reward_id, pattern="X", count=1)
    csv = await operation(marketer, "ImportCoupons", rewardId=reward_id, csv="bad code\n")

    assert [p["field"] for p in pattern["generateCoupons"]["problems"]] == ["pattern"]
    assert csv["importCoupons"]["problems"] == [
        {
            "field": "csv",
            "message": "line 1: 'bad code' must be 1 to 64 letters, digits, - or _, starting "
            "with a letter or digit",
        }
    ]
