"""Queries on the tier ladder."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.tiers.types import TierType


@strawberry.type
class TierQueries:
    @strawberry.field(description="The tiers of the ladder in force, lowest first.")
    async def tier_ladder(self, info: Info[Context, None]) -> list[TierType]:
        return [TierType.from_model(t) for t in await info.context.ladder.tiers()]
