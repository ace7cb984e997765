"""Admin mutations on the tier ladder: drafts and their publication with notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.ids import input_id
from app.api.permissions import require_actor
from app.api.results import typed_failures
from app.api.tiers.types import LadderVersionType
from app.auth import Role
from app.models import Tier
from app.services import ladder_versions
from gamification.engine import GrowthWeights
from gamification.ladder import TierRule


@strawberry.input
class RequirementInput:
    fact: str = strawberry.field(description='A member fact, e.g. "events:purchase".')
    minimum: int


@strawberry.input
class TierInput:
    code: str
    name: str
    rank: int
    entry_threshold: int
    retention_threshold: int
    multiplier: Decimal
    requirements: list[RequirementInput] = strawberry.field(default_factory=list)
    benefits: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class GrowthWeightsInput:
    spend: Decimal = Decimal(1)
    active_day: int = 10
    task_completed: int = 20
    referral: int = 50


@strawberry.type
class LadderVersionSaved:
    version: LadderVersionType
    members_told: int = strawberry.field(description="Members notified of the change.")


LadderVersionResult = Annotated[
    LadderVersionSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("LadderVersionResult"),
]


async def _saved(version_id: int, version: object, told: int) -> LadderVersionSaved:
    tiers = await Tier.filter(ladder_version_id=version_id).order_by("rank")
    return LadderVersionSaved(
        version=LadderVersionType.from_model(version, tiers),  # type: ignore[arg-type]
        members_told=told,
    )


@strawberry.type
class LadderMutations:
    @strawberry.mutation(description="Store a new ladder as a draft version (admins).")
    @typed_failures
    async def create_ladder_draft(
        self,
        info: Info[Context, None],
        tiers: list[TierInput],
        weights: GrowthWeightsInput | None = None,
        notes: str = "",
    ) -> LadderVersionResult:
        actor = require_actor(info, Role.ADMIN)
        w = weights or GrowthWeightsInput()
        version = await ladder_versions.create_draft(
            tiers=[
                TierRule(
                    code=t.code,
                    name=t.name,
                    rank=t.rank,
                    entry_threshold=t.entry_threshold,
                    retention_threshold=t.retention_threshold,
                    multiplier=t.multiplier,
                    requirements=tuple((r.fact, r.minimum) for r in t.requirements),
                    benefits=tuple(t.benefits),
                )
                for t in tiers
            ],
            weights=GrowthWeights(
                spend=w.spend,
                active_day=w.active_day,
                task_completed=w.task_completed,
                referral=w.referral,
            ),
            notes=notes,
            actor=actor,
            now=info.context.now,
        )
        return await _saved(version.id, version, 0)

    @strawberry.mutation(
        description="Publish a draft, in force from effectiveAt (at least the notice period "
        "ahead); every member is notified now (admins)."
    )
    @typed_failures
    async def publish_ladder_version(
        self, info: Info[Context, None], id: strawberry.ID, effective_at: datetime
    ) -> LadderVersionResult:
        actor = require_actor(info, Role.ADMIN)
        pk = input_id(id, kind="LadderVersion", argument="id")
        version, told = await ladder_versions.publish(
            version_id=pk,
            effective_at=effective_at,
            notice=timedelta(days=info.context.settings.ladder_notice_days),
            actor=actor,
            now=info.context.now,
        )
        return await _saved(version.id, version, told)
