"""What members are told: the outbox written beside each change, and the inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.models.members import Member


class OutboxMessage(Model):
    """Work to do after a commit (leaderboards, pushes), written in the same transaction."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField()
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        indexes = (("processed_at", "id"),)


class Notification(Model):
    """A message in the inbox of a member."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name="notifications", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=32)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    member_id: int

    class Meta:
        table = "notification"
        indexes = (("member_id", "id"),)
