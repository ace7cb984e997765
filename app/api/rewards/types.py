"""GraphQL types of the rewards catalogue and of redemptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.errors import ForbiddenType, IdempotencyConflictType, NotFoundType, ValidationFailed
from app.api.ids import encode_id
from app.api.members.types import MemberType
from app.models import Redemption, Reward


@strawberry.type(name="Reward", description="Something members buy with points.")
class RewardType:
    id: strawberry.ID
    code: str
    name: str
    description: str
    points_cost: int
    stock: int | None = strawberry.field(description="How many are left; null: unlimited.")
    starts_at: datetime | None
    ends_at: datetime | None = strawberry.field(
        description="Exclusive: the reward can no longer be redeemed then."
    )
    min_tier_rank: int | None
    max_tier_rank: int | None
    active: bool = strawberry.field(description="False: paused by a marketer.")
    archived: bool

    @classmethod
    def from_model(cls, reward: Reward) -> RewardType:
        return cls(
            id=strawberry.ID(encode_id("Reward", reward.id)),
            code=reward.code,
            name=reward.name,
            description=reward.description,
            points_cost=reward.points_cost,
            stock=reward.stock,
            starts_at=reward.starts_at,
            ends_at=reward.ends_at,
            min_tier_rank=reward.min_tier_rank,
            max_tier_rank=reward.max_tier_rank,
            active=reward.active,
            archived=reward.archived_at is not None,
        )


@strawberry.type(name="Redemption", description="Points a member spent on a reward.")
class RedemptionType:
    id: strawberry.ID
    reward: RewardType
    points: int
    created_at: datetime

    @classmethod
    def from_model(cls, redemption: Redemption, reward: Reward) -> RedemptionType:
        return cls(
            id=strawberry.ID(encode_id("Redemption", redemption.id)),
            reward=RewardType.from_model(reward),
            points=redemption.points,
            created_at=redemption.created_at,
        )


@strawberry.type
class RewardRedeemed:
    redemption: RedemptionType
    member: MemberType
    replayed: bool = strawberry.field(
        description="True when the idempotency key was used before: this is the first "
        "redemption, and nothing more was spent."
    )


@strawberry.type(
    name="InsufficientPoints",
    description="The balance does not cover the reward; nothing was spent.",
)
class InsufficientPointsType:
    message: str
    balance: int
    cost: int


@strawberry.type(name="OutOfStock", description="None of the reward is left; nothing was spent.")
class OutOfStockType:
    message: str
    reward_id: strawberry.ID


@strawberry.input
class CreateRewardInput:
    code: str
    name: str
    points_cost: int
    description: str = ""
    stock: int | None = strawberry.field(default=None, description="Null: unlimited.")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None
    active: bool = True


@strawberry.input(description="Only the fields given change; null clears an optional one.")
class UpdateRewardInput:
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    points_cost: int | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    stock: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="How many are left from now on (a restock or a count); null: unlimited.",
    )
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    min_tier_rank: int | None = strawberry.UNSET
    max_tier_rank: int | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class RewardSaved:
    reward: RewardType


RewardResult = Annotated[
    RewardSaved | ValidationFailed | NotFoundType | ForbiddenType, strawberry.union("RewardResult")
]
RedeemPointsResult = Annotated[
    RewardRedeemed
    | InsufficientPointsType
    | OutOfStockType
    | NotFoundType
    | ValidationFailed
    | IdempotencyConflictType
    | ForbiddenType,
    strawberry.union("RedeemPointsResult"),
]
