"""Benefit mutations: marketers keep the catalogue and its matrices (audited); members use
their grants."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.benefits.types import (
    AttachSeasonalBenefitResult,
    BenefitGrantType,
    BenefitResult,
    BenefitSaved,
    BenefitType,
    BenefitUsed,
    CreateBenefitInput,
    DetachSeasonalBenefitResult,
    SeasonalBenefitAttached,
    SeasonalBenefitDetached,
    SeasonalBenefitType,
    SetTierBenefitsResult,
    TierBenefitsSet,
    TierBenefitsType,
    UpdateBenefitInput,
    UseBenefitResult,
)
from app.api.shared.context import Context
from app.api.shared.errors import NotFoundType
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, caller, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.services.benefits import catalogue as benefits
from app.services.benefits import grants
from app.services.shared.errors import NotFound


@strawberry.type
class BenefitMutations:
    @strawberry.mutation(
        description="Add a benefit to the catalogue (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_benefit(
        self,
        info: Info[Context, None],
        input: Annotated[CreateBenefitInput, strawberry.argument(description="The benefit.")],
    ) -> BenefitResult:
        actor = audit_actor(info)
        benefit = await benefits.create_benefit(
            definition=benefits.BenefitDefinition(**vars(input)),
            actor=actor,
            now=info.context.now,
        )
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(
        description="Change a benefit's fields (those given; none may be null) (marketers, "
        "admins; audited). Grants already made show the new value.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def update_benefit(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Benefit id.")],
        input: Annotated[
            UpdateBenefitInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> BenefitResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Benefit", argument="id")
        changes = given_changes(input)
        benefit = await benefits.update_benefit(
            benefit_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(
        description="Withdraw a benefit for good (idempotent; marketers, admins; audited); "
        "grants members hold stay.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def archive_benefit(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Benefit id.")],
    ) -> BenefitResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Benefit", argument="id")
        benefit = await benefits.archive_benefit(benefit_id=pk, actor=actor, now=info.context.now)
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(
        description="Make benefitCodes the whole set of benefits of a tier (an empty list "
        "clears it) (marketers, admins; audited). Grants held stay; promotions grant the new "
        "set.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def set_tier_benefits(
        self,
        info: Info[Context, None],
        tier_code: Annotated[
            str,
            strawberry.argument(
                description="The code of a tier of any ladder version (drafts too), e.g. gold."
            ),
        ],
        benefit_codes: Annotated[
            list[str], strawberry.argument(description="Codes of live (not archived) benefits.")
        ],
    ) -> SetTierBenefitsResult:
        actor = audit_actor(info)
        row = await benefits.set_tier_benefits(
            tier_code=tier_code, benefit_codes=benefit_codes, actor=actor, now=info.context.now
        )
        return TierBenefitsSet(tier_benefits=TierBenefitsType.from_row(row))

    @strawberry.mutation(
        description="Give the members of tierCodes a benefit while a season runs (once per "
        "season and benefit; marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def attach_seasonal_benefit(
        self,
        info: Info[Context, None],
        season_id: Annotated[
            strawberry.ID, strawberry.argument(description="A live (not archived) Season id.")
        ],
        benefit_id: Annotated[
            strawberry.ID, strawberry.argument(description="A live (not archived) Benefit id.")
        ],
        tier_codes: Annotated[
            list[str],
            strawberry.argument(
                description="At least one tier code; their members get the benefit."
            ),
        ],
    ) -> AttachSeasonalBenefitResult:
        actor = audit_actor(info)
        season_pk = input_id(season_id, kind="Season", argument="seasonId")
        benefit_pk = input_id(benefit_id, kind="Benefit", argument="benefitId")
        row = await benefits.attach_seasonal_benefit(
            season_id=season_pk,
            benefit_id=benefit_pk,
            tier_codes=tier_codes,
            actor=actor,
            now=info.context.now,
        )
        return SeasonalBenefitAttached(seasonal_benefit=SeasonalBenefitType.from_model(row))

    @strawberry.mutation(
        description="Stop a season giving a benefit; grants already made stay with members "
        "(marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def detach_seasonal_benefit(
        self,
        info: Info[Context, None],
        season_id: Annotated[strawberry.ID, strawberry.argument(description="A Season id.")],
        benefit_id: Annotated[
            strawberry.ID, strawberry.argument(description="A Benefit id the season gives.")
        ],
    ) -> DetachSeasonalBenefitResult:
        actor = audit_actor(info)
        season_pk = input_id(season_id, kind="Season", argument="seasonId")
        benefit_pk = input_id(benefit_id, kind="Benefit", argument="benefitId")
        try:
            row = await benefits.detach_seasonal_benefit(
                season_id=season_pk, benefit_id=benefit_pk, actor=actor, now=info.context.now
            )
        except NotFound as error:
            # The pair is what is missing; it has no id of its own, so name the benefit.
            return NotFoundType.from_error(error, id=benefit_id)
        return SeasonalBenefitDetached(seasonal_benefit=SeasonalBenefitType.from_model(row))

    @strawberry.mutation(
        description="Use a benefit grant of the signed-in member's, once (member tokens only). "
        "Another member's grant is NotFound.",
        extensions=[roles(Role.MEMBER)],
    )
    @typed_failures
    async def use_benefit(
        self,
        info: Info[Context, None],
        grant_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="A BenefitGrant id of the member's (Member.benefits)."),
        ],
    ) -> UseBenefitResult:
        principal = caller(info)
        assert principal.member_id is not None  # member tokens always carry one
        pk = input_id(grant_id, kind="BenefitGrant", argument="grantId")
        now = info.context.now
        grant = await grants.use_benefit(member_id=principal.member_id, grant_id=pk, now=now)
        return BenefitUsed(grant=BenefitGrantType.from_model(grant, now=now))
