"""The audit log: who changed what, from what, to what, when."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One change made by a marketer or an admin."""

    id = fields.BigIntField(primary_key=True)
    actor = fields.CharField(max_length=200)
    actor_role = fields.CharField(max_length=16)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=64)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "audit_entry"
        indexes = (("target_type", "target_id"), ("action", "id"))
