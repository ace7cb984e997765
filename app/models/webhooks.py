"""Outbound webhooks: the endpoints admins register and the deliveries made to them.

A delivery is one event for one endpoint. It is written by the outbox relay in the
transaction that marks its outbox row relayed (so a change that rolled back has none and a
committed one cannot lose it), and sent by the webhook job until the endpoint answers 2xx.
Its ``msg_id`` is the ``webhook-id`` header: the same on every attempt, so receivers can
drop a repeat.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next try (or for its endpoint to be enabled)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every try failed; a replay sends it again


class WebhookEndpoint(Model):
    """A URL of the brand's systems that is told of the event types it subscribed to."""

    id = fields.BigIntField(primary_key=True)
    url = fields.CharField(max_length=2048)
    # The event type codes it wants (app/services/webhooks/events.py lists them).
    event_types: fields.JSONField[list[str]] = fields.JSONField()
    # "whsec_" + base64 of 32 random bytes, as Standard Webhooks libraries read it.
    secret = fields.CharField(max_length=100)
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    disabled_at = fields.DatetimeField(null=True)
    # The first failure since its last success (null: not failing).
    failing_since = fields.DatetimeField(null=True)

    deliveries: fields.ReverseRelation[WebhookDelivery]

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Model):
    """One event sent (or to send) to one endpoint, with the outcome of its last try."""

    id = fields.BigIntField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "laurel.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    # The outbox row it was made from, and the event's place in that row (one event of a
    # member can complete two tasks): the pair keeps a second relay pass from adding it again.
    outbox_id = fields.BigIntField()
    position = fields.SmallIntField()
    event_type = fields.CharField(max_length=64)
    msg_id = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    status = fields.CharEnumField(
        DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING, description=ENUM_DESCRIPTION
    )
    attempts = fields.IntField(default=0)
    next_try_at = fields.DatetimeField(null=True)
    last_response_code = fields.IntField(null=True)
    last_latency_ms = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    endpoint_id: int

    class Meta:
        table = "webhook_delivery"
        unique_together = (("endpoint", "outbox_id", "position"),)
        indexes = (("status", "next_try_at"), ("endpoint_id", "id"))
