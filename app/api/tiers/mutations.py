"""Admin mutations on the tier ladder: drafts and their publication with notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import input_id
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.api.tiers.types import LadderVersionType
from app.auth import Role
from app.models import LadderVersion, Tier
from app.services.tiers import versions as ladder_versions
from gamification.activity.engine import GrowthWeights
from gamification.tiers.ladder import TierRule


@strawberry.input(description="A minimum on one member fact, required to enter a tier.")
class RequirementInput:
    fact: str = strawberry.field(
        description='A member fact, e.g. "events:purchase" (events of a type), "task:<code>", '
        '"tasks_completed", "streak_days".'
    )
    minimum: int = strawberry.field(description="The least value of the fact to enter.")


@strawberry.input(description="One tier of a draft ladder.")
class TierInput:
    code: str = strawberry.field(description="Stable code; unique in the ladder.")
    name: str = strawberry.field(description="Display name; unique in the ladder.")
    rank: int = strawberry.field(
        description="Position on the ladder: the tiers' ranks are 0, 1, 2, ... without gaps."
    )
    entry_threshold: int = strawberry.field(
        description="Growth needed to enter: 0 for rank 0, rising with each rank."
    )
    retention_threshold: int = strawberry.field(
        description="Growth needed at an evaluation to keep the tier: 0 for rank 0, otherwise "
        "between the entry thresholds of the tier below and of this one."
    )
    multiplier: Decimal = strawberry.field(
        description='Points multiplier, above 0 and at most 10, e.g. "1.5".'
    )
    requirements: list[RequirementInput] = strawberry.field(
        default_factory=list,
        description="Minimums on member facts besides growth, all needed to enter.",
    )
    benefits: list[str] = strawberry.field(
        default_factory=list,
        description="What the tier unlocks, in words, as the tier-up notification lists it "
        "(the benefits granted come from the tier matrix: setTierBenefits).",
    )


@strawberry.input(description="How activity in the evaluation window turns into growth.")
class GrowthWeightsInput:
    spend: Decimal = strawberry.field(
        default=Decimal(1),
        description="Growth per unit of amount of events whose type counts as spend; not negative.",
    )
    active_day: int = strawberry.field(
        default=10,
        description="Growth for a member's first event of a local day; not negative.",
    )
    task_completed: int = strawberry.field(
        default=20, description="Growth per growth task completed; not negative."
    )
    referral: int = strawberry.field(
        default=50, description="Growth per event whose type counts as a referral; not negative."
    )


@strawberry.type(description="The ladder version is stored (and, when published, announced).")
class LadderVersionSaved:
    version: LadderVersionType = strawberry.field(description="The version, with its tiers.")
    members_told: int = strawberry.field(description="Members notified of the change.")


LadderVersionResult = Annotated[
    LadderVersionSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "LadderVersionResult",
        description="LadderVersionSaved, or: ValidationFailed (an inconsistent ladder on "
        "tiers, notes over 500 characters, negative weights; an effectiveAt without offset "
        "or inside the notice period; a version that is not a draft on id), NotFound (no "
        "such version), Forbidden (not an admin).",
    ),
]


async def _saved(version_id: int, version: LadderVersion, told: int) -> LadderVersionSaved:
    tiers = await Tier.filter(ladder_version_id=version_id).order_by("rank")
    return LadderVersionSaved(
        version=LadderVersionType.from_model(version, tiers),
        members_told=told,
    )


@strawberry.type
class LadderMutations:
    @strawberry.mutation(
        description="Store a new ladder as a draft version (admins; audited).",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def create_ladder_draft(
        self,
        info: Info[Context, None],
        tiers: Annotated[
            list[TierInput], strawberry.argument(description="The whole ladder, any order.")
        ],
        weights: Annotated[
            GrowthWeightsInput | None,
            strawberry.argument(description="Growth weights; default the defaults of each."),
        ] = None,
        notes: Annotated[
            str, strawberry.argument(description="What changes and why, up to 500 characters.")
        ] = "",
    ) -> LadderVersionResult:
        actor = audit_actor(info)
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
        "ahead); every member is notified now (admins; audited).",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def publish_ladder_version(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A draft LadderVersion id.")],
        effective_at: Annotated[
            datetime,
            strawberry.argument(
                description="When it takes effect, with an offset: at least "
                "LAUREL_LADDER_NOTICE_DAYS (14 by default) days from now."
            ),
        ],
    ) -> LadderVersionResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="LadderVersion", argument="id")
        version, told = await ladder_versions.publish(
            version_id=pk,
            effective_at=effective_at,
            notice=timedelta(days=info.context.settings.ladder_notice_days),
            actor=actor,
            now=info.context.now,
        )
        return await _saved(version.id, version, told)
