"""The benefits catalogue and its tier and season matrices, as the marketer console reads them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.benefits.types import BenefitType, SeasonalBenefitType, TierBenefitsType
from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor, require_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.services.benefits import catalogue as benefits


@strawberry.type
class BenefitQueries:
    @strawberry.field(
        description="Benefits in catalogue order (marketers, admins); archived ones with "
        "includeArchived.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def benefits_catalogue(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived benefits too.")
        ] = False,
    ) -> Connection[BenefitType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        after_id = decode_cursor(after)
        rows, has_next = await benefits.benefits_page(
            first=first, after_id=after_id, include_archived=include_archived
        )

        async def first_benefit() -> int | None:
            found, _ = await benefits.benefits_page(
                first=1, after_id=None, include_archived=include_archived
            )
            return found[0].id if found else None

        return Connection[BenefitType].build(
            rows,
            has_next=has_next,
            key=lambda b: b.id,
            node=BenefitType.from_model,
            previous=rows_before(after_id, first_benefit, descending=False),
        )

    @strawberry.field(
        description="The tier x benefit matrix: each tier of the ladder in force, lowest "
        "first, then other tier codes that have benefits (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def tier_benefits(self, info: Info[Context, None]) -> list[TierBenefitsType]:
        rows = await benefits.tier_benefits(now=info.context.now)
        return [TierBenefitsType.from_row(row) for row in rows]

    @strawberry.field(
        description="The benefits a season gives, and to which tiers (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def seasonal_benefits(
        self,
        info: Info[Context, None],
        season_id: Annotated[strawberry.ID, strawberry.argument(description="A Season id.")],
    ) -> list[SeasonalBenefitType]:
        pk = require_id(season_id, kind="Season", argument="seasonId")
        rows = await benefits.seasonal_benefits(season_id=pk)
        return [SeasonalBenefitType.from_model(row) for row in rows]
