"""Reads of the event catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.activity.types import EventTypeType
from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    check_page_size,
    first_key,
    rows_before,
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
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = EventType.all().order_by("id")
        if not include_inactive:
            query = query.filter(active=True)
        listed = query
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[EventTypeType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda e: e.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=EventTypeType.from_model,
        )
