"""Reads of the season catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.seasons.types import SeasonType
from app.api.shared.context import Context
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    keyset_page,
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
        listed = Season.all() if include_archived else Season.filter(archived_at__isnull=True)
        return await keyset_page(
            listed,
            first=first,
            after=after,
            node=SeasonType.from_model,
            max_page_size=info.context.settings.max_page_size,
            descending=True,
        )
