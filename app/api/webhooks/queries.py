"""Webhook queries: the endpoints, their delivery logs, the event types (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor, require_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import roles
from app.api.webhooks.types import WebhookDeliveryType, WebhookEndpointType, WebhookEventTypeType
from app.auth import Role
from app.services.webhooks import endpoints as webhooks
from app.services.webhooks.events import EVENT_TYPES


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="The registered webhook endpoints, oldest first (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    async def webhook_endpoints(self, info: Info[Context, None]) -> list[WebhookEndpointType]:
        return [WebhookEndpointType.from_model(e) for e in await webhooks.list_endpoints()]

    @strawberry.field(
        description="The event types Laurel sends to webhook endpoints (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    def webhook_event_types(self, info: Info[Context, None]) -> list[WebhookEventTypeType]:
        return [
            WebhookEventTypeType(code=code, description=text) for code, text in EVENT_TYPES.items()
        ]

    @strawberry.field(
        description="An endpoint's delivery log, newest first: status, response code, "
        "attempts, next try, latency (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: Annotated[
            strawberry.ID, strawberry.argument(description="The endpoint's id.")
        ],
        first: First = 20,
        after: After = None,
    ) -> Connection[WebhookDeliveryType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        pk = require_id(endpoint_id, kind="WebhookEndpoint", argument="endpointId")
        before = decode_cursor(after)
        rows, has_next = await webhooks.delivery_page(endpoint_id=pk, first=first, before_id=before)

        async def newest() -> int | None:
            found, _ = await webhooks.delivery_page(endpoint_id=pk, first=1, before_id=None)
            return found[0].id if found else None

        return Connection[WebhookDeliveryType].build(
            rows,
            has_next=has_next,
            key=lambda d: d.id,
            node=WebhookDeliveryType.from_model,
            previous=rows_before(before, newest, descending=True),
        )
