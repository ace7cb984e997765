"""Reads of the badge catalogue (marketers, admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.api.badges.types import BadgeType
from app.api.shared.context import Context
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    keyset_page,
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
        return await keyset_page(
            Badge.all(),
            first=first,
            after=after,
            node=BadgeType.from_model,
            max_page_size=info.context.settings.max_page_size,
        )
