"""Webhook types: endpoints (the secret shown once), deliveries, and the mutations' results."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


@strawberry.enum(name="WebhookDeliveryStatus", description="Where a delivery stands.")
class WebhookDeliveryStatusType(Enum):
    PENDING = strawberry.enum_value(
        DeliveryStatus.PENDING.value,
        description="Waiting for its next try (or for its endpoint to be enabled again).",
    )
    DELIVERED = strawberry.enum_value(
        DeliveryStatus.DELIVERED.value, description="The endpoint answered 2xx."
    )
    FAILED = strawberry.enum_value(
        DeliveryStatus.FAILED.value,
        description="Every try failed; replayWebhookDelivery sends it again.",
    )


@strawberry.type(
    name="WebhookEndpoint",
    description="A URL of the brand's systems that Laurel POSTs the events it subscribed to, "
    "signed as Standard Webhooks says (docs/api/webhooks.md). Its secret is shown only when "
    "it is created or rotated.",
)
class WebhookEndpointType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the endpoint.")
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    event_types: list[str] = strawberry.field(
        description="The event types it receives, e.g. task.completed (webhookEventTypes "
        "lists them all)."
    )
    enabled: bool = strawberry.field(
        description="False: nothing is sent; its pending deliveries wait until it is enabled."
    )
    created_at: datetime = strawberry.field(description="When it was registered, UTC.")
    disabled_at: datetime | None = strawberry.field(
        description="When it was disabled, by an admin or for failing too long (null: enabled)."
    )
    failing_since: datetime | None = strawberry.field(
        description="Its first failed try since the last success (null: not failing). Past "
        "LAUREL_WEBHOOKS_DISABLE_AFTER it is disabled."
    )

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookEndpointType:
        return cls(
            id=strawberry.ID(encode_id("WebhookEndpoint", endpoint.id)),
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            enabled=endpoint.enabled,
            created_at=endpoint.created_at,
            disabled_at=endpoint.disabled_at,
            failing_since=endpoint.failing_since,
        )


@strawberry.type(
    name="WebhookDelivery",
    description="One event sent (or to send) to one endpoint, with its last try's outcome.",
)
class WebhookDeliveryType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the delivery.")
    message_id: str = strawberry.field(
        description="The webhook-id header: the same on every try and replay (receivers drop "
        "a repeat by it)."
    )
    event_type: str = strawberry.field(description="The event type, e.g. badge.earned.")
    status: WebhookDeliveryStatusType = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Tries made so far.")
    next_try_at: datetime | None = strawberry.field(
        description="When it is tried next, UTC (null: delivered or given up)."
    )
    last_response_code: int | None = strawberry.field(
        description="The HTTP status of the last try (null: none yet, or no answer)."
    )
    last_latency_ms: int | None = strawberry.field(
        description="How long the last try took, in milliseconds."
    )
    last_error: str | None = strawberry.field(
        description="Why the last try got no answer (a timeout, a refused connection)."
    )
    created_at: datetime = strawberry.field(description="When it was written, UTC.")
    delivered_at: datetime | None = strawberry.field(
        description="When the endpoint answered 2xx, UTC."
    )

    @classmethod
    def from_model(cls, delivery: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(encode_id("WebhookDelivery", delivery.id)),
            message_id=delivery.msg_id,
            event_type=delivery.event_type,
            status=WebhookDeliveryStatusType(DeliveryStatus(delivery.status).value),
            attempts=delivery.attempts,
            next_try_at=delivery.next_try_at,
            last_response_code=delivery.last_response_code,
            last_latency_ms=delivery.last_latency_ms,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


@strawberry.type(name="WebhookEventType", description="An event type an endpoint may receive.")
class WebhookEventTypeType:
    code: str = strawberry.field(description="Its code, e.g. points.earned.")
    description: str = strawberry.field(description="What happened when it is sent.")


@strawberry.type(
    description="The endpoint with its signing secret: store the secret now, it is not shown "
    "again (rotateWebhookSecret makes a new one)."
)
class WebhookEndpointWithSecret:
    endpoint: WebhookEndpointType = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(
        description="whsec_ followed by base64: what Standard Webhooks libraries take, e.g. "
        "standardwebhooks.Webhook(secret).verify(body, headers)."
    )


@strawberry.type(description="The endpoint as it now is.")
class WebhookEndpointUpdated:
    endpoint: WebhookEndpointType = strawberry.field(description="The endpoint.")


@strawberry.type(description="The delivery is due again now, with the same webhook-id.")
class WebhookDeliveryReplayed:
    delivery: WebhookDeliveryType = strawberry.field(description="The delivery.")


CreateWebhookEndpointResult = Annotated[
    WebhookEndpointWithSecret | ValidationFailed | ForbiddenType,
    strawberry.union(
        "CreateWebhookEndpointResult",
        description="WebhookEndpointWithSecret, or why not: ValidationFailed (url, eventTypes) "
        "or Forbidden (not an admin).",
    ),
]
UpdateWebhookEndpointResult = Annotated[
    WebhookEndpointUpdated | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "UpdateWebhookEndpointResult",
        description="WebhookEndpointUpdated, ValidationFailed (id, url, eventTypes), NotFound "
        "or Forbidden (not an admin).",
    ),
]
RotateWebhookSecretResult = Annotated[
    WebhookEndpointWithSecret | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "RotateWebhookSecretResult",
        description="WebhookEndpointWithSecret (the new secret, shown once), ValidationFailed "
        "(id), NotFound or Forbidden (not an admin).",
    ),
]
ReplayWebhookDeliveryResult = Annotated[
    WebhookDeliveryReplayed | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "ReplayWebhookDeliveryResult",
        description="WebhookDeliveryReplayed, ValidationFailed (id), NotFound or Forbidden "
        "(not an admin).",
    ),
]
