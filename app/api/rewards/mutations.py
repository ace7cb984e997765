"""Reward mutations: marketers define the catalogue (audited); members redeem points."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import MemberType
from app.api.rewards.types import (
    AddCouponsResult,
    CancelRedemptionResult,
    CancelWindowClosedType,
    CouponPoolType,
    CouponsAdded,
    CouponsExhaustedType,
    CreateRewardInput,
    InsufficientPointsType,
    OutOfStockType,
    RedeemPointsResult,
    RedemptionAlreadyCancelledType,
    RedemptionCancelled,
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
from app.api.shared.permissions import (
    CATALOGUE_EDITORS,
    audit_actor,
    caller,
    member_or_staff,
    roles,
)
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import Member
from app.services.rewards import catalogue as rewards
from app.services.rewards import coupons
from app.services.rewards.redemptions import (
    AlreadyCancelled,
    CancelWindowClosed,
    InsufficientPoints,
    OutOfStock,
    cancel_redemption,
    coupon_code_of,
    redeem_reward,
)

# The optional fields of a reward: an update may clear them with null.
NULLABLE = (
    "stock",
    "starts_at",
    "ends_at",
    "min_tier_rank",
    "max_tier_rank",
    "cancel_window_hours",
)


def _added(result: coupons.CouponsAdded) -> CouponsAdded:
    return CouponsAdded(
        reward=RewardType.from_model(result.reward),
        added=result.added,
        duplicates=result.duplicates,
        pool=CouponPoolType(
            total=result.pool.total,
            remaining=result.pool.remaining,
            issued=result.pool.issued,
            exhausted_at=result.reward.coupons_exhausted_at,
        ),
    )


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
                default_cancel_window_hours=info.context.settings.redemption_cancel_window_hours,
                now=info.context.now,
            )
        except InsufficientPoints as error:
            return InsufficientPointsType(
                message=str(error), balance=error.balance, cost=error.cost
            )
        except OutOfStock as error:
            return OutOfStockType(message=str(error), reward_id=reward_id)
        except coupons.CouponsExhausted as error:
            return CouponsExhaustedType(message=str(error), reward_id=reward_id)
        member = await Member.get(id=principal.member_id)
        return RewardRedeemed(
            redemption=RedemptionType.from_model(
                redeemed.redemption, redeemed.reward, coupon_code=redeemed.coupon_code
            ),
            member=MemberType.from_model(member),
            replayed=redeemed.replayed,
        )

    @strawberry.mutation(
        description="Cancel a redemption inside its window (cancellableUntil) and give its "
        "points back, exactly once: concurrent or repeated calls refund one time "
        "(RedemptionAlreadyCancelled for the others). The stock taken goes back; a coupon "
        "code handed out stays issued. A member cancels only its own redemptions (members, "
        "marketers, admins, services; audited).",
        extensions=[member_or_staff()],
    )
    @typed_failures
    async def cancel_redemption(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Redemption id.")],
        reason: Annotated[
            str, strawberry.argument(description="Why, 1-200 characters (shown to the member).")
        ],
    ) -> CancelRedemptionResult:
        principal = caller(info)
        pk = input_id(id, kind="Redemption", argument="id")
        try:
            cancelled = await cancel_redemption(
                redemption_id=pk,
                reason=reason,
                actor=audit_actor(info),
                member_id=principal.member_id if principal.role is Role.MEMBER else None,
                now=info.context.now,
            )
        except AlreadyCancelled as error:
            assert error.redemption.cancelled_at is not None
            return RedemptionAlreadyCancelledType(
                message=str(error), cancelled_at=error.redemption.cancelled_at
            )
        except CancelWindowClosed as error:
            return CancelWindowClosedType(
                message=str(error), cancellable_until=error.redemption.cancellable_until
            )
        return RedemptionCancelled(
            redemption=RedemptionType.from_model(
                cancelled.redemption,
                cancelled.reward,
                coupon_code=await coupon_code_of(cancelled.redemption),
            ),
            balance=cancelled.balance,
        )

    @strawberry.mutation(
        description="Add new random codes to a reward's coupon pool, made from a pattern: # a "
        "digit, ? a letter, * either, other characters as they are (SHOE-####-????). Exactly "
        "count codes are added, none already in the pool (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def generate_coupons(
        self,
        info: Info[Context, None],
        reward_id: Annotated[strawberry.ID, strawberry.argument(description="A Reward id.")],
        pattern: Annotated[
            str,
            strawberry.argument(
                description="Up to 64 characters: #, ?, * (at least 4 of them), A-Z, 0-9, -; "
                "it must make at least 100 times more codes than count."
            ),
        ],
        count: Annotated[int, strawberry.argument(description="How many, 1 to 100,000.")],
    ) -> AddCouponsResult:
        pk = input_id(reward_id, kind="Reward", argument="rewardId")
        result = await coupons.generate_coupons(
            reward_id=pk,
            pattern=pattern,
            count=count,
            actor=audit_actor(info),
            now=info.context.now,
        )
        return _added(result)

    @strawberry.mutation(
        description="Add the codes of a CSV text to a reward's coupon pool (the first column; "
        "a header `code` is skipped). Codes already in the pool are skipped, so importing a "
        "file again adds nothing (marketers, admins; audited). `laurel import coupons` does "
        "the same from a file.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def import_coupons(
        self,
        info: Info[Context, None],
        reward_id: Annotated[strawberry.ID, strawberry.argument(description="A Reward id.")],
        csv: Annotated[
            str,
            strawberry.argument(
                description="One code per line (1-64 letters, digits, - or _); the request "
                "body limit (100 KB) bounds a call to a few thousand codes: larger files go "
                "through `laurel import coupons`."
            ),
        ],
    ) -> AddCouponsResult:
        pk = input_id(reward_id, kind="Reward", argument="rewardId")
        codes = coupons.codes_from_csv(csv)
        result = await coupons.import_coupons(
            reward_id=pk, codes=codes, actor=audit_actor(info), now=info.context.now
        )
        return _added(result)
