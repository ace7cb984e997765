"""Earning rules: the rules marketers write, each edit a new version, and what they spent."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.rules.engine import Budget, Effect, GroupPick
from gamification.shared.calendar import Window


class EarningRule(Model):
    """A rule by its stable code; what it says lives in its versions."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()
    archived_at = fields.DatetimeField(null=True)

    versions: fields.ReverseRelation[EarningRuleVersion]

    class Meta:
        table = "earning_rule"
        table_description = "An earning rule a marketer wrote, named by a stable code."


class EarningRuleVersion(Model):
    """One version of a rule, in force from ``effective_from`` until the next version's.

    Never changed once written: an edit is a new version, so a ledger row that names a
    rule and a version names what it was awarded under."""

    id = fields.IntField(primary_key=True)
    rule: fields.ForeignKeyRelation[EarningRule] = fields.ForeignKeyField(
        "laurel.EarningRule", related_name="versions", on_delete=fields.RESTRICT
    )
    number = fields.IntField()
    event_type = fields.CharField(max_length=32)
    condition: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    effect: fields.JSONField[dict[str, Any]] = fields.JSONField()
    priority = fields.IntField(default=0)
    exclusive_group = fields.CharField(max_length=32, null=True)
    group_pick = fields.CharEnumField(
        GroupPick, max_length=16, default=GroupPick.BEST, description=_ENUM
    )
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    campaign_points_cap = fields.BigIntField(null=True)
    campaign_awards_cap = fields.BigIntField(null=True)
    member_points_cap = fields.BigIntField(null=True)
    member_awards_cap = fields.BigIntField(null=True)
    member_cap_period = fields.CharEnumField(
        Window, max_length=16, default=Window.LIFETIME, description=_ENUM
    )
    effective_from = fields.DatetimeField()
    created_at = fields.DatetimeField()

    rule_id: int

    class Meta:
        table = "earning_rule_version"
        unique_together = (("rule_id", "number"),)
        table_description = "One version of an earning rule, a new one for every edit."

    def effect_value(self) -> Effect:
        return Effect.from_json(self.effect)

    def budget(self) -> Budget:
        return Budget(
            campaign_points=self.campaign_points_cap,
            campaign_awards=self.campaign_awards_cap,
            member_points=self.member_points_cap,
            member_awards=self.member_awards_cap,
            member_period=self.member_cap_period,
        )


class EarningRuleSpend(Model):
    """What a rule has awarded: for the whole campaign (``member_id`` 0, period
    ``campaign``) or one member in one period of its member cap.

    The campaign row is what keeps a campaign budget exact: an award is added with one
    conditional upsert that the database refuses when it would pass the cap it carries
    (app/services/rules/budgets.py). Written by the event path, so not a catalogue table:
    it never moves the programme stamp."""

    id = fields.BigIntField(primary_key=True)
    rule_id = fields.IntField()
    member_id = fields.BigIntField()
    period_key = fields.CharField(max_length=32)
    points = fields.BigIntField(default=0)
    awards = fields.BigIntField(default=0)
    first_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "earning_rule_spend"
        unique_together = (("rule_id", "member_id", "period_key"),)
        table_description = "Points and awards an earning rule gave, per campaign or member."
