"""Marketers define growth tasks (validated, audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, roles
from app.api.shared.results import typed_failures
from app.api.tasks.types import (
    CreateGrowthTaskInput,
    GrowthTaskResult,
    GrowthTaskSaved,
    GrowthTaskType,
    TaskStatus,
    UpdateGrowthTaskInput,
)
from app.services.tasks import catalogue as tasks


def _season_id(value: strawberry.ID | None, *, field: str = "seasonId") -> int | None:
    return None if value is None else input_id(value, kind="Season", argument=field)


# The optional fields of a task: an update may clear them with null.
TASK_NULLABLE = (
    "per_window_limit",
    "cap",
    "min_tier_rank",
    "max_tier_rank",
    "starts_at",
    "ends_at",
    "season_id",
    "reward_badge",
)


@strawberry.type
class TaskMutations:
    @strawberry.mutation(
        description="Create a growth task (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_growth_task(
        self,
        info: Info[Context, None],
        input: Annotated[CreateGrowthTaskInput, strawberry.argument(description="The task.")],
    ) -> GrowthTaskResult:
        actor = audit_actor(info)
        fields = vars(input).copy()
        fields["season_id"] = _season_id(input.season_id)
        badge = fields.pop("badge")
        task = await tasks.create_task(
            definition=tasks.TaskDefinition(**fields),
            badge=None
            if badge is None
            else tasks.TaskBadge(
                code=badge.code,
                name=badge.name,
                description=badge.description,
                hidden=badge.hidden,
                thresholds=tuple(badge.thresholds),
            ),
            actor=actor,
            now=info.context.now,
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))

    @strawberry.mutation(
        description="Change a growth task's fields (those given); progress made stays "
        "(marketers, admins; audited). An archived task cannot change.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def update_growth_task(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A GrowthTask id.")],
        input: Annotated[
            UpdateGrowthTaskInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> GrowthTaskResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="GrowthTask", argument="id")
        changes = given_changes(input, nullable=TASK_NULLABLE)
        if "season_id" in changes:
            changes["season_id"] = _season_id(input.season_id)
        task = await tasks.update_task(
            task_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))

    @strawberry.mutation(
        description="Pause, resume (ACTIVE) or archive a growth task; archived is final "
        "(marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def set_growth_task_status(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A GrowthTask id.")],
        status: Annotated[
            TaskStatus,  # type: ignore[valid-type]
            strawberry.argument(description="The status to move to."),
        ],
    ) -> GrowthTaskResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="GrowthTask", argument="id")
        task = await tasks.set_task_status(
            task_id=pk, status=status, actor=actor, now=info.context.now
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))
