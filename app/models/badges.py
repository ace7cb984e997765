"""Badges, and the levels of them members have earned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.badges import BadgeMetric, BadgeRule

if TYPE_CHECKING:
    from app.models.members import Member


class Badge(Model):
    """A badge and the thresholds of its levels."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    metric = fields.CharEnumField(BadgeMetric, max_length=32, description=_ENUM)
    subject = fields.CharField(max_length=64, null=True)
    thresholds: fields.JSONField[list[int]] = fields.JSONField(default=list)
    hidden = fields.BooleanField(default=False)

    class Meta:
        table = "badge"

    def to_rule(self) -> BadgeRule:
        return BadgeRule(
            code=self.code,
            name=self.name,
            metric=self.metric,
            thresholds=tuple(int(t) for t in self.thresholds),
            subject=self.subject,
            hidden=self.hidden,
        )


class MemberBadge(Model):
    """A level of a badge that a member earned."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "laurel.Badge", related_name=False, on_delete=fields.RESTRICT
    )
    level = fields.SmallIntField()
    earned_at = fields.DatetimeField()

    member_id: int
    badge_id: int

    class Meta:
        table = "member_badge"
        unique_together = (("member_id", "badge_id", "level"),)
