"""Marketers define badges (validated, audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.badges.types import (
    BadgeResult,
    BadgeSaved,
    BadgeType,
    CreateBadgeInput,
    UpdateBadgeInput,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, roles
from app.api.shared.results import typed_failures
from app.services.badges import catalogue as badges


@strawberry.type
class BadgeMutations:
    @strawberry.mutation(
        description="Create a badge (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_badge(
        self,
        info: Info[Context, None],
        input: Annotated[CreateBadgeInput, strawberry.argument(description="The badge.")],
    ) -> BadgeResult:
        actor = audit_actor(info)
        badge = await badges.create_badge(**vars(input), actor=actor, now=info.context.now)
        return BadgeSaved(badge=BadgeType.from_model(badge))

    @strawberry.mutation(
        description="Change a badge's fields (those given; not its code) (marketers, admins; "
        "audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
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
        actor = audit_actor(info)
        pk = input_id(id, kind="Badge", argument="id")
        changes = given_changes(input, nullable=("subject",))
        badge = await badges.update_badge(
            badge_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return BadgeSaved(badge=BadgeType.from_model(badge))
