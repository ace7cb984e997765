"""Reward mutations: marketers define the catalogue (audited); members redeem points."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import MemberType
from app.api.rewards.types import (
    CreateRewardInput,
    InsufficientPointsType,
    OutOfStockType,
    RedeemPointsResult,
    RedemptionType,
    RewardRedeemed,
    RewardResult,
    RewardSaved,
    RewardType,
    UpdateRewardInput,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, caller, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import Member
from app.services.rewards import catalogue as rewards
from app.services.rewards.redemptions import InsufficientPoints, OutOfStock, redeem_reward

# The optional fields of a reward: an update may clear them with null.
NULLABLE = ("stock", "starts_at", "ends_at", "min_tier_rank", "max_tier_rank")


@strawberry.type
class RewardMutations:
    @strawberry.mutation(
        description="Add a reward to the catalogue (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_reward(
        self,
        info: Info[Context, None],
        input: Annotated[CreateRewardInput, strawberry.argument(description="The reward.")],
    ) -> RewardResult:
        actor = audit_actor(info)
        reward = await rewards.create_reward(
            definition=rewards.RewardDefinition(**vars(input)),
            actor=actor,
            now=info.context.now,
        )
        return RewardSaved(reward=RewardType.from_model(reward))

    @strawberry.mutation(
        description="Change a reward's fields (those given) (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def update_reward(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Reward id.")],
        input: Annotated[
            UpdateRewardInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> RewardResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Reward", argument="id")
        changes = given_changes(input, nullable=NULLABLE)
        reward = await rewards.update_reward(
            reward_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return RewardSaved(reward=RewardType.from_model(reward))

    @strawberry.mutation(
        description="Withdraw a reward for good (idempotent; marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def archive_reward(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Reward id.")],
    ) -> RewardResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Reward", argument="id")
        reward = await rewards.archive_reward(reward_id=pk, actor=actor, now=info.context.now)
        return RewardSaved(reward=RewardType.from_model(reward))

    @strawberry.mutation(
        description="Spend points on a reward (the signed-in member; member tokens only). Never "
        "overdraws the balance nor oversells the stock. With an idempotency key, a retry "
        "returns the first redemption and spends nothing more.",
        extensions=[roles(Role.MEMBER)],
    )
    @typed_failures
    async def redeem_points(
        self,
        info: Info[Context, None],
        reward_id: Annotated[strawberry.ID, strawberry.argument(description="A Reward id.")],
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="1-128 characters, unique per redemption: a retry with the same "
                "key returns the first redemption; null: every call redeems anew."
            ),
        ] = None,
    ) -> RedeemPointsResult:
        principal = caller(info)
        assert principal.member_id is not None  # member tokens always carry one
        pk = input_id(reward_id, kind="Reward", argument="rewardId")
        try:
            redeemed = await redeem_reward(
                member_id=principal.member_id,
                reward_id=pk,
                idempotency_key=idempotency_key,
                now=info.context.now,
            )
        except InsufficientPoints as error:
            return InsufficientPointsType(
                message=str(error), balance=error.balance, cost=error.cost
            )
        except OutOfStock as error:
            return OutOfStockType(message=str(error), reward_id=reward_id)
        member = await Member.get(id=principal.member_id)
        return RewardRedeemed(
            redemption=RedemptionType.from_model(redeemed.redemption, redeemed.reward),
            member=MemberType.from_model(member),
            replayed=redeemed.replayed,
        )
