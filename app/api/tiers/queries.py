"""Queries on the tier ladder."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

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
from app.api.shared.permissions import anyone, roles
from app.api.tiers.types import LadderVersionType, TierType
from app.auth import Role
from app.models import LadderVersion, Tier


@strawberry.type
class TierQueries:
    @strawberry.field(
        description="The tiers of the ladder in force, lowest first. Anyone may read it, "
        "without a token too.",
        extensions=[anyone()],
    )
    async def tier_ladder(self, info: Info[Context, None]) -> list[TierType]:
        return [TierType.from_programme(t) for t in await info.context.programme.ladder_tiers()]

    @strawberry.field(
        description="Every ladder version, newest first (admins).", extensions=[roles(Role.ADMIN)]
    )
    async def ladder_versions(
        self, info: Info[Context, None], first: First = 20, after: After = None
    ) -> Connection[LadderVersionType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = listed = LadderVersion.all().order_by("-number")
        if (before := decode_cursor(after)) is not None:
            query = query.filter(number__lt=before)
        rows = await query.limit(first + 1)
        page = rows[:first]
        tiers: dict[int, list[Tier]] = {v.id: [] for v in page}
        for tier in await Tier.filter(ladder_version_id__in=list(tiers)).order_by("rank"):
            tiers[tier.ladder_version_id].append(tier)
        return Connection[LadderVersionType].build(
            page,
            has_next=len(rows) > first,
            previous=rows_before(before, lambda: first_key(listed, "number"), descending=True),
            key=lambda v: v.number,
            node=lambda v: LadderVersionType.from_model(v, tiers[v.id]),
        )
