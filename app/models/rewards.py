"""The rewards catalogue and the redemptions members make from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from gamification.rewards import RewardRule

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

    member_id: int
    reward_id: int

    class Meta:
        table = "redemption"
        unique_together = (("member_id", "idempotency_key"),)
        indexes = (("member_id", "id"), ("reward_id", "id"))
