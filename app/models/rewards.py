"""The rewards catalogue and the redemptions members make from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.rewards import RedemptionStatus, RewardRule

if TYPE_CHECKING:
    from app.models.members import Member


class Reward(Model):
    """A reward members buy with points.

    Stock only ever falls by a conditional single UPDATE (stock > 0) in the redemption
    transaction; null stock means unlimited.
    """

    # The first docstring line becomes the table comment: keep it free of quotes and ';'.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    points_cost = fields.BigIntField()
    stock = fields.BigIntField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    min_tier_rank = fields.SmallIntField(null=True)
    max_tier_rank = fields.SmallIntField(null=True)
    active = fields.BooleanField(default=True)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # How long after a redemption the member (or staff) may cancel it for a refund; null:
    # LAUREL_REDEMPTION_CANCEL_WINDOW_HOURS. Each redemption keeps the deadline it got.
    cancel_window_hours = fields.IntField(null=True)
    # True: each redemption hands out one unique code of the reward's coupon pool, and an
    # empty pool refuses the redemption.
    issues_coupons = fields.BooleanField(default=False, db_default=False)
    # Set by the first redemption that found the pool empty (the marketers are alerted
    # once); cleared when codes are added.
    coupons_exhausted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reward"
        indexes = (("archived_at", "active"),)

    def to_rule(self) -> RewardRule:
        return RewardRule(
            code=self.code,
            name=self.name,
            points_cost=self.points_cost,
            active=self.active,
            archived=self.archived_at is not None,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            min_tier_rank=self.min_tier_rank,
            max_tier_rank=self.max_tier_rank,
        )


class Redemption(Model):
    """Points a member spent on a reward, beside the ledger row that took them."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "laurel.Reward", related_name=False, on_delete=fields.RESTRICT
    )
    points = fields.BigIntField()
    # The client's key for a retry-safe redemption; null when the client sent none.
    idempotency_key = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField()
    status = fields.CharEnumField(
        RedemptionStatus,
        max_length=16,
        default=RedemptionStatus.REDEEMED,
        db_default=RedemptionStatus.REDEEMED.value,
        description=_ENUM,
    )
    # Until when a cancellation refunds it (exclusive); null: it cannot be cancelled.
    cancellable_until = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=200, null=True)
    # The coupon code it handed out; unique, so no code is ever handed out twice.
    coupon: fields.ForeignKeyNullableRelation[CouponCode] = fields.OneToOneField(
        "laurel.CouponCode", related_name=False, null=True, on_delete=fields.RESTRICT
    )

    member_id: int
    reward_id: int
    coupon_id: int | None

    class Meta:
        table = "redemption"
        unique_together = (("member_id", "idempotency_key"),)
        indexes = (("member_id", "id"), ("reward_id", "id"))


class CouponCode(Model):
    """One unique code of a reward's coupon pool, handed out by at most one redemption.

    A code is taken by a single conditional UPDATE (issued_at IS NULL) of the redemption
    transaction, so concurrent redemptions never share one. A cancelled redemption's code
    stays issued: the member has seen it, and it may have been used.
    """

    id = fields.BigIntField(primary_key=True)
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "laurel.Reward", related_name=False, on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=64)
    issued_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    reward_id: int

    class Meta:
        table = "coupon_code"
        unique_together = (("reward_id", "code"),)
        indexes = (("reward_id", "issued_at", "id"),)
