"""Member activity: the event catalogue, recorded events and their reversals, active days."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from gamification.activity.attributes import schema_from_json
from gamification.activity.engine import EventTypeRule

if TYPE_CHECKING:
    from app.models.members import Member


class EventType(Model):
    """An entry of the event catalogue of the programme."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=64)
    base_points = fields.IntField(default=0)
    points_per_unit = fields.DecimalField(max_digits=10, decimal_places=4, default=0)
    counts_as_spend = fields.BooleanField(default=False)
    counts_as_referral = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    # The return window: its events' points stay pending this many days (0: credited now).
    pending_days = fields.IntField(default=0, db_default=0)
    # The attributes its events carry (gamification/activity/attributes.py); null: any.
    attribute_schema: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)

    class Meta:
        table = "event_type"

    def to_rule(self) -> EventTypeRule:
        return EventTypeRule(
            code=self.code,
            name=self.name,
            base_points=self.base_points,
            points_per_unit=self.points_per_unit,
            counts_as_spend=self.counts_as_spend,
            counts_as_referral=self.counts_as_referral,
            pending_days=self.pending_days,
            attributes=schema_from_json(self.attribute_schema),
        )


class Event(Model):
    """One reported member activity and the outcome it had, stored so retries replay it."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name="events", on_delete=fields.RESTRICT
    )
    type = fields.CharField(max_length=32)
    occurred_at = fields.DatetimeField()
    amount = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    attributes: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    payload_hash = fields.CharField(max_length=64)
    outcome: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    points = fields.BigIntField(default=0)
    growth = fields.BigIntField(default=0)
    reversed_amount = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    reversed_points = fields.BigIntField(default=0)
    reversed_growth = fields.BigIntField(default=0)
    recorded_at = fields.DatetimeField()

    member_id: int

    class Meta:
        table = "event"
        indexes = (("member_id", "occurred_at"),)


class EventReversal(Model):
    """A return or cancellation of (part of) an event, and what it took back."""

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "laurel.Event", related_name="reversals", on_delete=fields.RESTRICT
    )
    reversal_key = fields.CharField(max_length=200, unique=True)
    amount = fields.DecimalField(max_digits=14, decimal_places=2)
    points = fields.BigIntField()
    growth = fields.BigIntField()
    points_not_recovered = fields.BigIntField(default=0)
    reason = fields.CharField(max_length=200)
    created_at = fields.DatetimeField()

    event_id: int

    class Meta:
        table = "event_reversal"


class MemberActiveDay(Model):
    """A programme-local day on which a member was active (growth counts it once)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    day = fields.DateField()

    member_id: int

    class Meta:
        table = "member_active_day"
        unique_together = (("member_id", "day"),)
