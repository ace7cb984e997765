"""GraphQL types of the rewards catalogue and of redemptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.members.types import MemberType
from app.api.shared.errors import (
    ForbiddenType,
    IdempotencyConflictType,
    MemberInactiveType,
    NotFoundType,
    ValidationFailed,
)
from app.api.shared.ids import encode_id
from app.models import Redemption, Reward


@strawberry.type(name="Reward", description="Something members buy with points.")
class RewardType:
    id: strawberry.ID = strawberry.field(description="Opaque id, for redeemPoints(rewardId).")
    code: str = strawberry.field(description="Stable code, unique.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Text for members to read.")
    points_cost: int = strawberry.field(description="Points a redemption spends.")
    stock: int | None = strawberry.field(description="How many are left; null: unlimited.")
    starts_at: datetime | None = strawberry.field(
        description="When it can first be redeemed, UTC; null: from the start."
    )
    ends_at: datetime | None = strawberry.field(
        description="Exclusive: the reward can no longer be redeemed then."
    )
    min_tier_rank: int | None = strawberry.field(
        description="Lowest tier rank offered it; null: from the base tier."
    )
    max_tier_rank: int | None = strawberry.field(
        description="Highest tier rank offered it; null: to the top."
    )
    active: bool = strawberry.field(description="False: paused by a marketer.")
    archived: bool = strawberry.field(description="True once withdrawn for good.")

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
    id: strawberry.ID = strawberry.field(description="Opaque id of the redemption.")
    reward: RewardType = strawberry.field(description="The reward redeemed.")
    points: int = strawberry.field(description="Points spent.")
    created_at: datetime = strawberry.field(description="When, UTC.")

    @classmethod
    def from_model(cls, redemption: Redemption, reward: Reward) -> RedemptionType:
        return cls(
            id=strawberry.ID(encode_id("Redemption", redemption.id)),
            reward=RewardType.from_model(reward),
            points=redemption.points,
            created_at=redemption.created_at,
        )


@strawberry.type(description="The points are spent and the reward is the member's.")
class RewardRedeemed:
    redemption: RedemptionType = strawberry.field(description="The redemption.")
    member: MemberType = strawberry.field(description="The member, with the balance after it.")
    replayed: bool = strawberry.field(
        description="True when the idempotency key was used before: this is the first "
        "redemption, and nothing more was spent."
    )


@strawberry.type(
    name="InsufficientPoints",
    description="The balance does not cover the reward; nothing was spent.",
)
class InsufficientPointsType:
    message: str = strawberry.field(description="The balance and the cost, in English.")
    balance: int = strawberry.field(description="The member's spendable points now.")
    cost: int = strawberry.field(description="Points the reward costs.")


@strawberry.type(name="OutOfStock", description="None of the reward is left; nothing was spent.")
class OutOfStockType:
    message: str = strawberry.field(description="Says the reward is sold out.")
    reward_id: strawberry.ID = strawberry.field(description="The Reward id asked for.")


@strawberry.input(description="A new reward of the catalogue.")
class CreateRewardInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    points_cost: int = strawberry.field(description="Points a redemption spends: 1 to 10,000,000.")
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )
    stock: int | None = strawberry.field(
        default=None, description="How many there are, 0 to 1,000,000,000; null: unlimited."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="When it can first be redeemed, with an offset; null: at once."
    )
    ends_at: datetime | None = strawberry.field(
        default=None,
        description="When it can no longer be redeemed (exclusive), with an offset, after "
        "startsAt; null: never.",
    )
    min_tier_rank: int | None = strawberry.field(
        default=None, description="Lowest tier rank offered it; null: from the base tier."
    )
    max_tier_rank: int | None = strawberry.field(
        default=None, description="Highest tier rank offered it; null: to the top."
    )
    active: bool = strawberry.field(
        default=True, description="False: paused, members cannot redeem it."
    )


@strawberry.input(description="Only the fields given change; null clears an optional one.")
class UpdateRewardInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    points_cost: int | None = strawberry.field(
        default=strawberry.UNSET, description="Points a redemption spends: 1 to 10,000,000."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )
    stock: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="How many are left from now on (a restock or a count); null: unlimited.",
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When it can first be redeemed, with an offset; null: at once.",
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When it can no longer be redeemed (exclusive), with an offset, after "
        "startsAt; null: never.",
    )
    min_tier_rank: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Lowest tier rank offered it; null: from the base tier.",
    )
    max_tier_rank: int | None = strawberry.field(
        default=strawberry.UNSET, description="Highest tier rank offered it; null: to the top."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="False: paused, members cannot redeem it."
    )


@strawberry.type(description="The reward is saved (and audited).")
class RewardSaved:
    reward: RewardType = strawberry.field(description="The reward as saved.")


RewardResult = Annotated[
    RewardSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "RewardResult",
        description="RewardSaved, or: ValidationFailed (the problems listed), NotFound (no "
        "such reward), Forbidden (not a marketer or an admin).",
    ),
]
RedeemPointsResult = Annotated[
    RewardRedeemed
    | InsufficientPointsType
    | OutOfStockType
    | MemberInactiveType
    | NotFoundType
    | ValidationFailed
    | IdempotencyConflictType
    | ForbiddenType,
    strawberry.union(
        "RedeemPointsResult",
        description="RewardRedeemed, or: InsufficientPoints, OutOfStock, MemberInactive (the "
        "member is deactivated: its points cannot be spent), NotFound (no such "
        "reward), ValidationFailed (the reward is paused, archived, not open yet, over, or "
        "not offered to the member's tier; a bad idempotency key), IdempotencyConflict (the "
        "key was used for another reward), Forbidden (not a member token).",
    ),
]
