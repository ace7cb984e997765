"""The rewards catalogue over HTTP: marketers define it, members redeem from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Member, Redemption, Reward
from app.services.points.ledger import award_points
from tests import factories
from tests.factories import operation


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


NOW = factories.now()


def reward_input(**overrides):
    return {"code": "tote", "name": "Tote bag", "pointsCost": 100, "stock": 2} | overrides


async def test_a_marketer_creates_a_reward_and_a_member_redeems_it(marketer, member_app):
    created = (await operation(marketer, "CreateReward", input=reward_input()))["createReward"]
    reward_id = created["reward"]["id"]

    screen = await operation(member_app, "RewardsScreen")
    redeemed = (await operation(member_app, "RedeemPoints", rewardId=reward_id))["redeemPoints"]

    assert created["__typename"] == "RewardSaved"
    assert screen["me"]["pointsBalance"] == 250
    assert [e["node"]["id"] for e in screen["rewards"]["edges"]] == [reward_id]
    assert redeemed["__typename"] == "RewardRedeemed"
    assert redeemed["member"]["pointsBalance"] == 150
    assert redeemed["redemption"]["points"] == 100
    assert redeemed["redemption"]["reward"]["stock"] == 1
    assert not redeemed["replayed"]


async def test_a_member_short_of_points_gets_insufficient_points_and_keeps_them(member_app):
    reward = await factories.reward(points_cost=300, stock=5)

    reward_id = encode_id("Reward", reward.id)

    result = (await operation(member_app, "RedeemPoints", rewardId=reward_id))["redeemPoints"]

    assert result["__typename"] == "InsufficientPoints"
    assert (result["balance"], result["cost"]) == (250, 300)
    assert (await Reward.get(id=reward.id)).stock == 5
    assert await Redemption.all().count() == 0


async def test_a_sold_out_reward_is_out_of_stock(member_app, member):
    reward = await factories.reward(points_cost=10, stock=0)
    reward_id = encode_id("Reward", reward.id)

    result = (await operation(member_app, "RedeemPoints", rewardId=reward_id))["redeemPoints"]

    assert result["__typename"] == "OutOfStock" and result["rewardId"] == reward_id
    assert (await Member.get(id=member.id)).points_balance == 250


async def test_refusals_are_typed_results(member_app):
    gold_only = await factories.reward(points_cost=10, min_tier_rank=2)

    unknown = await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", 999_999))
    malformed = await operation(member_app, "RedeemPoints", rewardId="not-an-id")
    not_mine = await operation(
        member_app, "RedeemPoints", rewardId=encode_id("Reward", gold_only.id)
    )

    assert unknown["redeemPoints"]["__typename"] == "NotFound"
    assert malformed["redeemPoints"]["problems"][0]["field"] == "rewardId"
    assert not_mine["redeemPoints"]["problems"] == [
        {"field": "rewardId", "message": "is not offered to your tier"}
    ]


async def test_a_retried_redemption_with_its_key_spends_once(member_app, member):
    reward = await factories.reward(points_cost=100)
    reward_id = encode_id("Reward", reward.id)

    first = await operation(member_app, "RedeemPoints", rewardId=reward_id, idempotencyKey="k1")
    again = await operation(member_app, "RedeemPoints", rewardId=reward_id, idempotencyKey="k1")

    assert again["redeemPoints"]["replayed"] is True
    assert again["redeemPoints"]["redemption"]["id"] == first["redeemPoints"]["redemption"]["id"]
    assert (await Member.get(id=member.id)).points_balance == 150


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "Tote Bag"}, "code"),
        ({"pointsCost": 0}, "pointsCost"),
        ({"stock": -2}, "stock"),
        ({"minTierRank": 5}, "minTierRank"),
        ({"startsAt": NOW.isoformat(), "endsAt": NOW.isoformat()}, "endsAt"),
    ],
)
async def test_a_bad_reward_is_refused_and_nothing_is_written(marketer, overrides, field):
    await factories.ladder()

    result = (await operation(marketer, "CreateReward", input=reward_input(**overrides)))[
        "createReward"
    ]

    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await Reward.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_required_fields_cannot_be_cleared(marketer):
    reward = await factories.reward()

    result = await operation(
        marketer, "UpdateReward", id=encode_id("Reward", reward.id), input={"pointsCost": None}
    )

    assert result["updateReward"]["problems"][0]["field"] == "pointsCost"


async def test_every_catalogue_change_is_audited_and_archived_rewards_leave_the_list(
    marketer, client, member_app
):
    await factories.ladder()
    created = (await operation(marketer, "CreateReward", input=reward_input()))["createReward"]
    reward_id = created["reward"]["id"]
    restocked = await operation(marketer, "UpdateReward", id=reward_id, input={"stock": 40})
    await operation(marketer, "ArchiveReward", id=reward_id)

    log = (await operation(client, "AuditLog", filter={"targetType": "Reward"}))["auditLog"]
    staff = (await operation(marketer, "Rewards"))["rewards"]["edges"]
    archived = (await operation(marketer, "Rewards", includeArchived=True))["rewards"]["edges"]
    screen = (await operation(member_app, "RewardsScreen"))["rewards"]["edges"]

    assert restocked["updateReward"]["reward"]["stock"] == 40
    entries = [e["node"] for e in log["edges"]]
    assert [e["action"] for e in entries] == ["reward.archive", "reward.update", "reward.create"]
    assert (entries[1]["before"]["stock"], entries[1]["after"]["stock"]) == (2, 40)
    assert entries[1]["actor"] == "test-marketer" and entries[1]["actorRole"] == "marketer"
    assert staff == [] and screen == []
    assert [e["node"]["archived"] for e in archived] == [True]


async def test_a_member_sees_a_reward_only_inside_its_window(marketer, member_app):
    now = factories.now()
    await operation(
        marketer,
        "CreateReward",
        input=reward_input(code="later", startsAt=(now + timedelta(hours=1)).isoformat()),
    )

    screen = (await operation(member_app, "RewardsScreen"))["rewards"]["edges"]
    staff = (await operation(marketer, "Rewards"))["rewards"]["edges"]

    assert screen == [] and [e["node"]["code"] for e in staff] == ["later"]
