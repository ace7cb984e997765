"""GraphQL types of the rewards catalogue and of redemptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import MemberType
from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import (
    ForbiddenType,
    IdempotencyConflictType,
    MemberInactiveType,
    NotFoundType,
    ValidationFailed,
)
from app.api.shared.ids import encode_id
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.models import Redemption, Reward
from app.services.rewards.coupons import coupon_pool
from gamification import rewards as domain

RedemptionStatus = described_enum(
    domain.RedemptionStatus,
    name="RedemptionStatus",
    description="Where a redemption stands.",
    values={
        "REDEEMED": "The points are spent and the reward is the member's.",
        "CANCELLED": "Cancelled inside its window: the points went back to the member.",
    },
)


@strawberry.type(name="CouponPool", description="The unique codes a reward hands out.")
class CouponPoolType:
    total: int = strawberry.field(description="Codes ever added to the pool.")
    remaining: int = strawberry.field(description="Codes not handed out yet.")
    issued: int = strawberry.field(description="Codes handed out by redemptions.")
    exhausted_at: datetime | None = strawberry.field(
        description="When a redemption first found the pool empty (the marketers were "
        "alerted); null since codes were last added."
    )


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
    cancel_window_hours: int | None = strawberry.field(
        description="Hours after a redemption during which cancelRedemption refunds it; "
        "null: the programme's default (LAUREL_REDEMPTION_CANCEL_WINDOW_HOURS); 0: never."
    )
    issues_coupons: bool = strawberry.field(
        description="True: each redemption hands out one unique code of the reward's pool."
    )
    pk: strawberry.Private[int]
    exhausted_at: strawberry.Private[datetime | None]

    @strawberry.field(
        description="The reward's coupon pool: its size and what is left (marketers, admins); "
        "null for a reward without one.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def coupon_pool(self, info: Info[Context, None]) -> CouponPoolType | None:
        if not self.issues_coupons:
            return None
        pool = await coupon_pool(self.pk)
        return CouponPoolType(
            total=pool.total,
            remaining=pool.remaining,
            issued=pool.issued,
            exhausted_at=self.exhausted_at,
        )

    @classmethod
    def from_model(cls, reward: Reward) -> RewardType:
        return cls(
            pk=reward.id,
            exhausted_at=reward.coupons_exhausted_at,
            cancel_window_hours=reward.cancel_window_hours,
            issues_coupons=reward.issues_coupons,
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
    status: RedemptionStatus = strawberry.field(  # type: ignore[valid-type]
        description="Redeemed, or cancelled."
    )
    coupon_code: str | None = strawberry.field(
        description="The unique code it handed out (rewards with a coupon pool); it stays the "
        "member's to read, also once cancelled."
    )
    cancellable_until: datetime | None = strawberry.field(
        description="Until when (exclusive) cancelRedemption refunds it, UTC; null: never."
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled.")

    @classmethod
    def from_model(
        cls, redemption: Redemption, reward: Reward, *, coupon_code: str | None = None
    ) -> RedemptionType:
        return cls(
            id=strawberry.ID(encode_id("Redemption", redemption.id)),
            reward=RewardType.from_model(reward),
            points=redemption.points,
            created_at=redemption.created_at,
            status=redemption.status,
            coupon_code=coupon_code,
            cancellable_until=redemption.cancellable_until,
            cancelled_at=redemption.cancelled_at,
            cancel_reason=redemption.cancel_reason,
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


@strawberry.type(
    name="CouponsExhausted",
    description="The reward hands out coupon codes and none is left; nothing was spent (the "
    "marketers are alerted).",
)
class CouponsExhaustedType:
    message: str = strawberry.field(description="Says the codes ran out.")
    reward_id: strawberry.ID = strawberry.field(description="The Reward id asked for.")


@strawberry.type(description="The redemption is cancelled and its points are back.")
class RedemptionCancelled:
    redemption: RedemptionType = strawberry.field(description="The redemption, now cancelled.")
    balance: int = strawberry.field(description="The member's spendable points after the refund.")


@strawberry.type(
    name="RedemptionAlreadyCancelled",
    description="The redemption was cancelled before (by this or a concurrent call): its "
    "points were refunded then, and nothing more now.",
)
class RedemptionAlreadyCancelledType:
    message: str = strawberry.field(description="Says so, in English.")
    cancelled_at: datetime = strawberry.field(description="When it was cancelled.")


@strawberry.type(
    name="CancelWindowClosed",
    description="The redemption's cancellation window is over (or it had none); nothing "
    "was refunded.",
)
class CancelWindowClosedType:
    message: str = strawberry.field(description="Says so, in English.")
    cancellable_until: datetime | None = strawberry.field(
        description="When the window closed; null: the redemption was never cancellable."
    )


@strawberry.type(description="Codes were added to a reward's coupon pool (audited).")
class CouponsAdded:
    reward: RewardType = strawberry.field(description="The reward.")
    added: int = strawberry.field(description="New codes added.")
    duplicates: int = strawberry.field(
        description="Codes given that were in the pool already (skipped)."
    )
    pool: CouponPoolType = strawberry.field(description="The pool after the addition.")


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
    cancel_window_hours: int | None = strawberry.field(
        default=None,
        description="Hours after a redemption during which it may be cancelled for a refund, "
        "0 to 8784; null: the programme's default; 0: never.",
    )
    issues_coupons: bool = strawberry.field(
        default=False,
        description="True: each redemption hands out one unique code of the reward's pool "
        "(generateCoupons, importCoupons); an empty pool refuses redemptions.",
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
    cancel_window_hours: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Hours after a redemption during which it may be cancelled, 0 to 8784 "
        "(later redemptions); null: the programme's default.",
    )
    issues_coupons: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: each redemption hands out one unique code of the reward's pool.",
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
    | CouponsExhaustedType
    | MemberInactiveType
    | NotFoundType
    | ValidationFailed
    | IdempotencyConflictType
    | ForbiddenType,
    strawberry.union(
        "RedeemPointsResult",
        description="RewardRedeemed, or: InsufficientPoints, OutOfStock, CouponsExhausted (no "
        "code of the reward's pool is left), MemberInactive (the "
        "member is deactivated: its points cannot be spent), NotFound (no such "
        "reward), ValidationFailed (the reward is paused, archived, not open yet, over, or "
        "not offered to the member's tier; a bad idempotency key), IdempotencyConflict (the "
        "key was used for another reward), Forbidden (not a member token).",
    ),
]
CancelRedemptionResult = Annotated[
    RedemptionCancelled
    | RedemptionAlreadyCancelledType
    | CancelWindowClosedType
    | NotFoundType
    | ValidationFailed
    | ForbiddenType,
    strawberry.union(
        "CancelRedemptionResult",
        description="RedemptionCancelled, or: RedemptionAlreadyCancelled (refunded before: "
        "nothing more), CancelWindowClosed, NotFound (no such redemption, or another "
        "member's), ValidationFailed (an empty or too long reason), Forbidden.",
    ),
]
AddCouponsResult = Annotated[
    CouponsAdded | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "AddCouponsResult",
        description="CouponsAdded, or: ValidationFailed (a bad pattern, count or CSV; an "
        "archived reward), NotFound (no such reward), Forbidden (not a marketer or an admin).",
    ),
]
