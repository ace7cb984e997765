"""Reads of the growth task catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    keyset_page,
)
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.api.tasks.types import GrowthTaskType, TaskStatus
from app.models import GrowthTask


@strawberry.type
class TaskQueries:
    @strawberry.field(
        description="Growth tasks in creation order (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def growth_tasks(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        status: Annotated[
            TaskStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only tasks of this status; null: every task."),
        ] = None,
    ) -> Connection[GrowthTaskType]:
        listed = GrowthTask.all()
        if status is not None:
            listed = listed.filter(status=status)
        return await keyset_page(
            listed,
            first=first,
            after=after,
            node=GrowthTaskType.from_model,
            max_page_size=info.context.settings.max_page_size,
        )
