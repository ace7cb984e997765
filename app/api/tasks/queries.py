"""Reads of the growth task catalogue (marketers, admins)."""

from __future__ import annotations

from typing import Annotated

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
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = GrowthTask.all().order_by("id")
        if status is not None:
            query = query.filter(status=status)
        listed = query
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[GrowthTaskType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda t: t.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=GrowthTaskType.from_model,
        )
