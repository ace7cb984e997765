"""Reads of the badge catalogue (marketers, admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.api.badges.types import BadgeType
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
from app.models import Badge


@strawberry.type
class BadgeQueries:
    @strawberry.field(
        description="Badges in creation order (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def badges(
        self, info: Info[Context, None], first: First = 20, after: After = None
    ) -> Connection[BadgeType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = listed = Badge.all().order_by("id")
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[BadgeType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda b: b.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=BadgeType.from_model,
        )
