"""Marketers define seasons (validated, audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.seasons.types import (
    CreateSeasonInput,
    SeasonResult,
    SeasonSaved,
    SeasonType,
    UpdateSeasonInput,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, roles
from app.api.shared.results import typed_failures
from app.services.seasons import catalogue as seasons


@strawberry.type
class SeasonMutations:
    @strawberry.mutation(
        description="Create a season (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_season(
        self,
        info: Info[Context, None],
        input: Annotated[CreateSeasonInput, strawberry.argument(description="The season.")],
    ) -> SeasonResult:
        actor = audit_actor(info)
        season = await seasons.create_season(
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
        "admins; audited). An archived season cannot change.",
        extensions=[roles(*CATALOGUE_EDITORS)],
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
        actor = audit_actor(info)
        pk = input_id(id, kind="Season", argument="id")
        changes = given_changes(input)
        season = await seasons.update_season(
            season_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return SeasonSaved(season=SeasonType.from_model(season))

    @strawberry.mutation(
        description="Archive a season and its tasks (idempotent; marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def archive_season(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Season id.")],
    ) -> SeasonResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Season", argument="id")
        season = await seasons.archive_season(season_id=pk, actor=actor, now=info.context.now)
        return SeasonSaved(season=SeasonType.from_model(season))
