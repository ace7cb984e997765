"""Reads of the event catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.activity.types import EventTypeType
from app.api.shared.context import Context
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    keyset_page,
)
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.models import EventType


@strawberry.type
class EventTypeQueries:
    @strawberry.field(
        description="The event catalogue in creation order (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def event_types(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_inactive: Annotated[
            bool, strawberry.argument(description="True: inactive types too.")
        ] = False,
    ) -> Connection[EventTypeType]:
        listed = EventType.all() if include_inactive else EventType.filter(active=True)
        return await keyset_page(
            listed,
            first=first,
            after=after,
            node=EventTypeType.from_model,
            max_page_size=info.context.settings.max_page_size,
        )
