"""The tier ladder: versions of the rules, their tiers, and every member's tier history."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.activity.engine import GrowthWeights
from gamification.tiers.ladder import TierRule

if TYPE_CHECKING:
    from app.models.members import Member


class LadderVersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class LadderVersion(Model):
    """A version of the ladder rules.

    The published version with the latest effective date not in the future is the one in
    force; tier-change history keeps which version applied to each change.
    """

    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    status = fields.CharEnumField(LadderVersionStatus, max_length=16, description=_ENUM)
    effective_at = fields.DatetimeField(null=True)
    published_at = fields.DatetimeField(null=True)
    notes = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # How activity turns into growth under this version (see gamification.activity.engine).
    weight_spend = fields.DecimalField(max_digits=8, decimal_places=4, default=1)
    weight_active_day = fields.IntField(default=10)
    weight_task_completed = fields.IntField(default=20)
    weight_referral = fields.IntField(default=50)

    tiers: fields.ReverseRelation[Tier]

    def growth_weights(self) -> GrowthWeights:
        return GrowthWeights(
            spend=self.weight_spend,
            active_day=self.weight_active_day,
            task_completed=self.weight_task_completed,
            referral=self.weight_referral,
        )

    class Meta:
        table = "ladder_version"
        indexes = (("status", "effective_at"),)


class Tier(Model):
    id = fields.IntField(primary_key=True)
    ladder_version: fields.ForeignKeyRelation[LadderVersion] = fields.ForeignKeyField(
        "laurel.LadderVersion", related_name="tiers", on_delete=fields.RESTRICT
    )
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=64)
    rank = fields.SmallIntField()
    entry_threshold = fields.BigIntField()
    retention_threshold = fields.BigIntField()
    multiplier = fields.DecimalField(max_digits=5, decimal_places=2)
    # [[fact key, minimum], ...] besides growth, e.g. [["events:purchase", 2]].
    requirements: fields.JSONField[list[list[str | int]]] = fields.JSONField(default=list)
    # What the tier unlocks, in words members read.
    benefits: fields.JSONField[list[str]] = fields.JSONField(default=list)

    ladder_version_id: int

    class Meta:
        table = "tier"
        unique_together = (("ladder_version", "rank"), ("ladder_version", "code"))

    def to_rule(self) -> TierRule:
        return TierRule(
            code=self.code,
            name=self.name,
            rank=self.rank,
            entry_threshold=self.entry_threshold,
            retention_threshold=self.retention_threshold,
            multiplier=self.multiplier,
            requirements=tuple((str(k), int(v)) for k, v in self.requirements),
            benefits=tuple(self.benefits),
        )


class TierChangeReason(StrEnum):
    ENROLLMENT = "enrollment"
    PROMOTION = "promotion"
    DEMOTION = "demotion"
    LADDER_CHANGE = "ladder_change"
    MANUAL = "manual"


class TierChange(Model):
    """One move of one member on the ladder, kept for history and analytics."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name="tier_changes", on_delete=fields.RESTRICT
    )
    from_tier: fields.ForeignKeyNullableRelation[Tier] = fields.ForeignKeyField(
        "laurel.Tier", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    to_tier: fields.ForeignKeyRelation[Tier] = fields.ForeignKeyField(
        "laurel.Tier", related_name=False, on_delete=fields.RESTRICT
    )
    reason = fields.CharEnumField(TierChangeReason, max_length=16, description=_ENUM)
    ladder_version: fields.ForeignKeyRelation[LadderVersion] = fields.ForeignKeyField(
        "laurel.LadderVersion", related_name=False, on_delete=fields.RESTRICT
    )
    changed_at = fields.DatetimeField()

    member_id: int
    from_tier_id: int | None
    to_tier_id: int

    class Meta:
        table = "tier_change"
        indexes = (("member_id", "changed_at"), ("changed_at",))


class TierEvaluation(Model):
    """One evaluation of the ladder, by its date: how far it got and when it finished.

    The cursor lets a run killed half-way resume where it stopped; which members it
    demoted is kept in tier_evaluation_member, whose unique key is what keeps a member
    from dropping twice for one date.
    """

    id = fields.IntField(primary_key=True)
    # The local evaluation date, ISO (2026-12-01).
    evaluation = fields.CharField(max_length=10, unique=True)
    ladder_version: fields.ForeignKeyRelation[LadderVersion] = fields.ForeignKeyField(
        "laurel.LadderVersion", related_name=False, on_delete=fields.RESTRICT
    )
    # Members with an id at or above this are still to be judged.
    next_member_id = fields.BigIntField(default=0)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    demoted = fields.IntField(default=0)

    ladder_version_id: int

    class Meta:
        table = "tier_evaluation"


class EvaluationStep(StrEnum):
    WARNED = "warned"
    DEMOTED = "demoted"


class TierEvaluationMember(Model):
    """What one evaluation did to one member: a warning, or a drop of one tier.

    Unique per evaluation date, step and member: a warning is sent and a demotion applied
    at most once per date, however often or concurrently the job runs.
    """

    id = fields.BigIntField(primary_key=True)
    evaluation = fields.CharField(max_length=10)
    step = fields.CharEnumField(EvaluationStep, max_length=8, description=_ENUM)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    from_tier: fields.ForeignKeyRelation[Tier] = fields.ForeignKeyField(
        "laurel.Tier", related_name=False, on_delete=fields.RESTRICT
    )
    # The tier one below; for a warning, the tier the member would drop to.
    to_tier: fields.ForeignKeyRelation[Tier] = fields.ForeignKeyField(
        "laurel.Tier", related_name=False, on_delete=fields.RESTRICT
    )
    growth = fields.BigIntField()
    retention_threshold = fields.BigIntField()
    # The transaction (batch) that wrote the row: its later statements join on it.
    batch = fields.CharField(max_length=32)
    at = fields.DatetimeField()

    member_id: int
    from_tier_id: int
    to_tier_id: int

    class Meta:
        table = "tier_evaluation_member"
        unique_together = (("evaluation", "step", "member_id"),)
