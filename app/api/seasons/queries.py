"""Reads of the season catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.seasons.types import SeasonType
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
from app.models import Season


@strawberry.type
class SeasonQueries:
    @strawberry.field(
        description="Seasons, newest first (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def seasons(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived seasons too.")
        ] = False,
    ) -> Connection[SeasonType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = Season.all().order_by("-id")
        if not include_archived:
            query = query.filter(archived_at__isnull=True)
        listed = query
        if (before := decode_cursor(after)) is not None:
            query = query.filter(id__lt=before)
        rows = await query.limit(first + 1)
        return Connection[SeasonType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda s: s.id,
            previous=rows_before(before, lambda: first_key(listed), descending=True),
            node=SeasonType.from_model,
        )
