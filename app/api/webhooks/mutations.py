"""Webhook mutations: register, change, rotate the secret, replay a delivery (admins,
audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.api.webhooks.types import (
    CreateWebhookEndpointResult,
    ReplayWebhookDeliveryResult,
    RotateWebhookSecretResult,
    UpdateWebhookEndpointResult,
    WebhookDeliveryReplayed,
    WebhookDeliveryType,
    WebhookEndpointType,
    WebhookEndpointUpdated,
    WebhookEndpointWithSecret,
)
from app.auth import Role
from app.config import Settings
from app.services.webhooks import endpoints as webhooks

EventTypes = Annotated[
    list[str],
    strawberry.argument(
        description='The event types to send, e.g. ["task.completed", "badge.earned"] '
        "(webhookEventTypes lists them)."
    ),
]


def url_policy(settings: Settings) -> webhooks.UrlPolicy:
    return webhooks.UrlPolicy(
        https_only=settings.is_production, allow_private=settings.webhooks_allow_private
    )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook endpoint (admins). The URL must be https in production "
        "and may not point at a private, loopback or link-local address unless "
        "LAUREL_WEBHOOKS_ALLOW_PRIVATE is on. The signing secret is returned this once.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def create_webhook_endpoint(
        self,
        info: Info[Context, None],
        url: Annotated[str, strawberry.argument(description="Where to POST deliveries.")],
        event_types: EventTypes,
    ) -> CreateWebhookEndpointResult:
        actor = audit_actor(info)
        endpoint = await webhooks.create_endpoint(
            url=url,
            event_types=event_types,
            policy=url_policy(info.context.settings),
            actor=actor,
            now=info.context.now,
        )
        return WebhookEndpointWithSecret(
            endpoint=WebhookEndpointType.from_model(endpoint), secret=endpoint.secret
        )

    @strawberry.mutation(
        description="Change an endpoint's URL or event types, or enable or disable it "
        "(admins); omitted arguments stay as they are. Enabling resumes its pending deliveries.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def update_webhook_endpoint(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
        url: Annotated[
            str | None, strawberry.argument(description="A new URL, checked as on creation.")
        ] = None,
        event_types: Annotated[
            list[str] | None, strawberry.argument(description="The new set of event types.")
        ] = None,
        enabled: Annotated[
            bool | None, strawberry.argument(description="False stops sending; true resumes.")
        ] = None,
    ) -> UpdateWebhookEndpointResult:
        actor = audit_actor(info)
        endpoint = await webhooks.update_endpoint(
            endpoint_id=input_id(id, kind="WebhookEndpoint", argument="id"),
            url=url,
            event_types=event_types,
            enabled=enabled,
            policy=url_policy(info.context.settings),
            actor=actor,
            now=info.context.now,
        )
        return WebhookEndpointUpdated(endpoint=WebhookEndpointType.from_model(endpoint))

    @strawberry.mutation(
        description="Give an endpoint a new signing secret, returned this once (admins). "
        "Deliveries are signed with it from now on; the old one stops verifying.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def rotate_webhook_secret(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's id.")],
    ) -> RotateWebhookSecretResult:
        actor = audit_actor(info)
        endpoint = await webhooks.rotate_secret(
            endpoint_id=input_id(id, kind="WebhookEndpoint", argument="id"),
            actor=actor,
            now=info.context.now,
        )
        return WebhookEndpointWithSecret(
            endpoint=WebhookEndpointType.from_model(endpoint), secret=endpoint.secret
        )

    @strawberry.mutation(
        description="Send a delivery again now, with the same webhook-id, whatever its "
        "status (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def replay_webhook_delivery(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The delivery's id.")],
    ) -> ReplayWebhookDeliveryResult:
        actor = audit_actor(info)
        delivery = await webhooks.replay_delivery(
            delivery_id=input_id(id, kind="WebhookDelivery", argument="id"),
            actor=actor,
            now=info.context.now,
        )
        return WebhookDeliveryReplayed(delivery=WebhookDeliveryType.from_model(delivery))
