"""Leaderboards: board definitions, the scores they rank (the truth), and member standing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION
from gamification.leaderboards import Metric, Period

if TYPE_CHECKING:
    from app.models.members import Member
    from app.models.seasons import Season


class Leaderboard(Model):
    """A board marketers define: a metric over a period, optionally for a season or tier."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    metric = fields.CharEnumField(Metric, max_length=32, description=ENUM_DESCRIPTION)
    period = fields.CharEnumField(Period, max_length=16, description=ENUM_DESCRIPTION)
    season: fields.ForeignKeyNullableRelation[Season] = fields.ForeignKeyField(
        "laurel.Season", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    # Only members currently in this tier (by code, so it outlives ladder versions).
    tier_code = fields.CharField(max_length=32, null=True)
    visible_from = fields.DatetimeField(null=True)
    visible_to = fields.DatetimeField(null=True)
    # Leave out members an admin flagged (on by default).
    exclude_flagged = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    archived_at = fields.DatetimeField(null=True)

    season_id: int | None

    class Meta:
        table = "leaderboard"


class LeaderboardScore(Model):
    """The score of a member in one metric over one period (the truth every board reads).

    Written in the transaction of the change that moved it. ``reached_at`` (whole seconds)
    and ``reached_seq`` order equal scores: whoever got there first.
    """

    id = fields.BigIntField(primary_key=True)
    metric = fields.CharField(max_length=32)
    period_key = fields.CharField(max_length=40)
    # metric and period_key as one integer (gamification.leaderboards.scope_of), which
    # leads the rank index: counting ranks over a narrow key is much faster.
    scope = fields.BigIntField()
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    score = fields.BigIntField()
    reached_at = fields.DatetimeField()
    reached_seq = fields.BigIntField()

    member_id: int

    class Meta:
        table = "leaderboard_score"
        unique_together = (("metric", "period_key", "member_id"),)


class LeaderboardMember(Model):
    """How a member stands towards public boards: opted out, or flagged by an admin.

    Or deactivated. No row means visible, not flagged and active. ``member_active`` is the
    boards' copy of ``member.deactivated_at IS NULL``, written in the same transaction by
    the member's deactivation and reactivation (app/services/members/lifecycle.py), so that
    a rank never joins the member table.
    """

    id = fields.BigIntField(primary_key=True)
    member: fields.OneToOneRelation[Member] = fields.OneToOneField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    visible = fields.BooleanField(default=True)
    flagged_at = fields.DatetimeField(null=True)
    flag_reason = fields.CharField(max_length=200, default="")
    member_active = fields.BooleanField(default=True, db_default=True)
    updated_at = fields.DatetimeField()

    member_id: int

    class Meta:
        table = "leaderboard_member"
