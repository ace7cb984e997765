"""Marketer mutations: seasons, growth tasks, badges, event types (validated, audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import ValidationFailed
from app.api.ids import input_id
from app.api.marketing.types import (
    BadgeResult,
    BadgeSaved,
    BadgeType,
    CreateBadgeInput,
    CreateEventTypeInput,
    CreateGrowthTaskInput,
    CreateSeasonInput,
    EventTypeResult,
    EventTypeSaved,
    EventTypeType,
    GrowthTaskResult,
    GrowthTaskSaved,
    GrowthTaskType,
    SeasonResult,
    SeasonSaved,
    SeasonType,
    TaskStatus,
    UpdateBadgeInput,
    UpdateEventTypeInput,
    UpdateGrowthTaskInput,
    UpdateSeasonInput,
)
from app.api.partial_updates import given_changes
from app.api.permissions import CATALOGUE_EDITORS, require_actor
from app.api.results import typed_failures
from app.services import catalogue


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
class MarketingMutations:
    @strawberry.mutation(description="Create a season (marketers, admins; audited).")
    @typed_failures
    async def create_season(
        self,
        info: Info[Context, None],
        input: Annotated[CreateSeasonInput, strawberry.argument(description="The season.")],
    ) -> SeasonResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        season = await catalogue.create_season(
            code=input.code,
            name=input.name,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            description=input.description,
            actor=actor,
            now=info.context.now,
        )
        return SeasonSaved(season=SeasonType.from_model(season))

    @strawberry.mutation(
        description="Change a season's fields (those given; none may be null) (marketers, "
        "admins; audited). An archived season cannot change."
    )
    @typed_failures
    async def update_season(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Season id.")],
        input: Annotated[
            UpdateSeasonInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> SeasonResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="Season", argument="id")
        changes = given_changes(input)
        season = await catalogue.update_season(
            season_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return SeasonSaved(season=SeasonType.from_model(season))

    @strawberry.mutation(
        description="Archive a season and its tasks (idempotent; marketers, admins; audited)."
    )
    @typed_failures
    async def archive_season(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Season id.")],
    ) -> SeasonResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="Season", argument="id")
        season = await catalogue.archive_season(season_id=pk, actor=actor, now=info.context.now)
        return SeasonSaved(season=SeasonType.from_model(season))

    @strawberry.mutation(description="Create a growth task (marketers, admins; audited).")
    @typed_failures
    async def create_growth_task(
        self,
        info: Info[Context, None],
        input: Annotated[CreateGrowthTaskInput, strawberry.argument(description="The task.")],
    ) -> GrowthTaskResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        fields = vars(input).copy()
        fields["season_id"] = _season_id(input.season_id)
        task = await catalogue.create_task(
            definition=catalogue.TaskDefinition(**fields), actor=actor, now=info.context.now
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))

    @strawberry.mutation(
        description="Change a growth task's fields (those given); progress made stays "
        "(marketers, admins; audited). An archived task cannot change."
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
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="GrowthTask", argument="id")
        changes = given_changes(input, nullable=TASK_NULLABLE)
        if "season_id" in changes:
            changes["season_id"] = _season_id(input.season_id)
        task = await catalogue.update_task(
            task_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))

    @strawberry.mutation(
        description="Pause, resume (ACTIVE) or archive a growth task; archived is final "
        "(marketers, admins; audited)."
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
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="GrowthTask", argument="id")
        task = await catalogue.set_task_status(
            task_id=pk, status=status, actor=actor, now=info.context.now
        )
        return GrowthTaskSaved(task=GrowthTaskType.from_model(task))

    @strawberry.mutation(description="Create a badge (marketers, admins; audited).")
    @typed_failures
    async def create_badge(
        self,
        info: Info[Context, None],
        input: Annotated[CreateBadgeInput, strawberry.argument(description="The badge.")],
    ) -> BadgeResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        badge = await catalogue.create_badge(**vars(input), actor=actor, now=info.context.now)
        return BadgeSaved(badge=BadgeType.from_model(badge))

    @strawberry.mutation(
        description="Change a badge's fields (those given; not its code) (marketers, admins; "
        "audited)."
    )
    @typed_failures
    async def update_badge(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Badge id.")],
        input: Annotated[
            UpdateBadgeInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> BadgeResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="Badge", argument="id")
        changes = given_changes(input, nullable=("subject",))
        badge = await catalogue.update_badge(
            badge_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return BadgeSaved(badge=BadgeType.from_model(badge))

    @strawberry.mutation(
        description="Add an event type to the catalogue (marketers, admins; audited)."
    )
    @typed_failures
    async def create_event_type(
        self,
        info: Info[Context, None],
        input: Annotated[CreateEventTypeInput, strawberry.argument(description="The event type.")],
    ) -> EventTypeResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        event_type = await catalogue.create_event_type(
            **vars(input), actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))

    @strawberry.mutation(
        description="Change an event type's fields (those given), named by id or by code "
        "(marketers, admins; audited)."
    )
    @typed_failures
    async def update_event_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateEventTypeInput, strawberry.argument(description="The fields to change.")
        ],
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="An EventType id; or give code.")
        ] = None,
        code: Annotated[
            str | None, strawberry.argument(description="The event type's code; or give id.")
        ] = None,
    ) -> EventTypeResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        if (id is None) == (code is None):
            return ValidationFailed.single("id", "give either id or code")
        pk = None if id is None else input_id(id, kind="EventType", argument="id")
        changes = given_changes(input)
        event_type = await catalogue.update_event_type(
            event_type_id=pk, code=code, changes=changes, actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))

    @strawberry.mutation(
        description="Stop or resume accepting events of a type (idempotent; marketers, admins; "
        "audited). recordEvent refuses an inactive type as NotFound."
    )
    @typed_failures
    async def set_event_type_active(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A EventType id.")],
        active: Annotated[
            bool,
            strawberry.argument(
                description="False: refuse its events from now on; true: accept them again."
            ),
        ],
    ) -> EventTypeResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = input_id(id, kind="EventType", argument="id")
        event_type = await catalogue.set_event_type_active(
            event_type_id=pk, active=active, actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))
