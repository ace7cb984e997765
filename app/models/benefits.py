"""The benefits catalogue, which tiers and seasons give which benefit, and members' grants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.benefits import BenefitKind, GrantSource, GrantStatus

if TYPE_CHECKING:
    from app.models.members import Member
    from app.models.seasons import Season


class Benefit(Model):
    """A benefit of the catalogue, with the value its kind carries."""

    # The first docstring line becomes the table comment: keep it free of quotes and ';'.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    kind = fields.CharEnumField(BenefitKind, max_length=32, description=_ENUM)
    # Checked per kind by gamification.benefits.check_benefit_value before it is saved.
    value: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "benefit"


class TierBenefit(Model):
    """A benefit every member of a tier gets.

    Keyed by the tier's code, not its id: tiers are rows of one ladder version, and the
    matrix must outlive a new version of the ladder.
    """

    id = fields.IntField(primary_key=True)
    tier_code = fields.CharField(max_length=32)
    benefit: fields.ForeignKeyRelation[Benefit] = fields.ForeignKeyField(
        "laurel.Benefit", related_name=False, on_delete=fields.RESTRICT
    )

    benefit_id: int

    class Meta:
        table = "tier_benefit"
        unique_together = (("tier_code", "benefit_id"),)


class SeasonalBenefit(Model):
    """A benefit a season gives the members of some tiers while it runs."""

    id = fields.IntField(primary_key=True)
    season: fields.ForeignKeyRelation[Season] = fields.ForeignKeyField(
        "laurel.Season", related_name=False, on_delete=fields.RESTRICT
    )
    benefit: fields.ForeignKeyRelation[Benefit] = fields.ForeignKeyField(
        "laurel.Benefit", related_name=False, on_delete=fields.RESTRICT
    )
    tier_codes: fields.JSONField[list[str]] = fields.JSONField(default=list)

    season_id: int
    benefit_id: int

    class Meta:
        table = "seasonal_benefit"
        unique_together = (("season_id", "benefit_id"),)


class BenefitGrant(Model):
    """A benefit a member holds, with its validity window and status.

    Unique per (member, benefit, source, source reference): a benefit is never granted
    twice for one tier, season or birthday year, however often a job runs.
    """

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    benefit: fields.ForeignKeyRelation[Benefit] = fields.ForeignKeyField(
        "laurel.Benefit", related_name=False, on_delete=fields.RESTRICT
    )
    source = fields.CharEnumField(GrantSource, max_length=16, description=_ENUM)
    # The tier code, the season id or the birthday year the grant came from.
    source_ref = fields.CharField(max_length=64)
    valid_from = fields.DatetimeField()
    # Exclusive; null: until the source withdraws it.
    valid_to = fields.DatetimeField(null=True)
    status = fields.CharEnumField(
        GrantStatus, max_length=16, default=GrantStatus.ACTIVE, description=_ENUM
    )
    used_at = fields.DatetimeField(null=True)
    # The tier whose members the grant was for (tier and season grants; null for birthday
    # gifts): seasonal uptake is reported per this tier.
    tier_code = fields.CharField(max_length=32, null=True)

    member_id: int
    benefit_id: int

    class Meta:
        table = "benefit_grant"
        unique_together = (("member_id", "benefit_id", "source", "source_ref"),)
        indexes = (("member_id", "status"),)
