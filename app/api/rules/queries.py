"""Reads of the earning rules (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.rules.types import EarningRuleType
from app.api.shared.context import Context
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.services.rules.catalogue import rule_views


@strawberry.type
class EarningRuleQueries:
    @strawberry.field(
        description="The earning rules, oldest first, each with its versions, its budget use "
        "and burn rate (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def earning_rules(
        self,
        info: Info[Context, None],
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived rules too.")
        ] = False,
    ) -> list[EarningRuleType]:
        views = await rule_views(now=info.context.now, include_archived=include_archived)
        return [EarningRuleType.from_view(v) for v in views]
