"""Benefit mutations: marketers keep the catalogue and its matrices (audited); members use
their grants."""

from __future__ import annotations

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

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
from app.api.context import Context
from app.api.errors import NotFoundType, ValidationFailed
from app.api.ids import decode_id
from app.api.permissions import CATALOGUE_EDITORS, given_fields, require_actor, require_role
from app.auth import Role
from app.services import benefits
from app.services.errors import InvalidInput, NotFound

# Fields a benefit always has: an update may leave them out but not clear them.
REQUIRED = ("code", "name", "description", "kind", "value")


def _not_found(error: NotFound, **given: strawberry.ID) -> NotFoundType:
    """NotFound naming the argument's id as the client sent it."""
    argument = {"Season": "season_id", "Benefit": "benefit_id"}.get(error.kind)
    if argument in given:
        return NotFoundType.from_error(error, id=given[argument])
    return NotFoundType.from_error(error, id=str(error.key))


@strawberry.type
class BenefitMutations:
    @strawberry.mutation(description="Add a benefit to the catalogue (marketers, admins).")
    async def create_benefit(
        self, info: Info[Context, None], input: CreateBenefitInput
    ) -> BenefitResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        try:
            benefit = await benefits.create_benefit(
                definition=benefits.BenefitDefinition(**vars(input)),
                actor=actor,
                now=info.context.now,
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(description="Change a benefit's fields (those given).")
    async def update_benefit(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateBenefitInput
    ) -> BenefitResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = decode_id(id, kind="Benefit")
        if pk is None:
            return ValidationFailed.single("id", "is not a valid Benefit id")
        changes = given_fields(input)
        nulls = sorted(name for name in REQUIRED if name in changes and changes[name] is None)
        if nulls:
            return ValidationFailed.single(to_camel_case(nulls[0]), "cannot be null")
        try:
            benefit = await benefits.update_benefit(
                benefit_id=pk, changes=changes, actor=actor, now=info.context.now
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        except NotFound as error:
            return NotFoundType.from_error(error, id=id)
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(
        description="Withdraw a benefit for good (idempotent); grants members hold stay."
    )
    async def archive_benefit(self, info: Info[Context, None], id: strawberry.ID) -> BenefitResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        pk = decode_id(id, kind="Benefit")
        if pk is None:
            return ValidationFailed.single("id", "is not a valid Benefit id")
        try:
            benefit = await benefits.archive_benefit(
                benefit_id=pk, actor=actor, now=info.context.now
            )
        except NotFound as error:
            return NotFoundType.from_error(error, id=id)
        return BenefitSaved(benefit=BenefitType.from_model(benefit))

    @strawberry.mutation(
        description="Make benefitCodes the whole set of benefits of a tier (an empty list "
        "clears it)."
    )
    async def set_tier_benefits(
        self, info: Info[Context, None], tier_code: str, benefit_codes: list[str]
    ) -> SetTierBenefitsResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        try:
            row = await benefits.set_tier_benefits(
                tier_code=tier_code, benefit_codes=benefit_codes, actor=actor, now=info.context.now
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        return TierBenefitsSet(tier_benefits=TierBenefitsType.from_row(row))

    @strawberry.mutation(
        description="Give the members of tierCodes a benefit while a season runs (once per "
        "season and benefit)."
    )
    async def attach_seasonal_benefit(
        self,
        info: Info[Context, None],
        season_id: strawberry.ID,
        benefit_id: strawberry.ID,
        tier_codes: list[str],
    ) -> AttachSeasonalBenefitResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        season_pk = decode_id(season_id, kind="Season")
        benefit_pk = decode_id(benefit_id, kind="Benefit")
        if season_pk is None:
            return ValidationFailed.single("seasonId", "is not a valid Season id")
        if benefit_pk is None:
            return ValidationFailed.single("benefitId", "is not a valid Benefit id")
        try:
            row = await benefits.attach_seasonal_benefit(
                season_id=season_pk,
                benefit_id=benefit_pk,
                tier_codes=tier_codes,
                actor=actor,
                now=info.context.now,
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        except NotFound as error:
            return _not_found(error, season_id=season_id, benefit_id=benefit_id)
        return SeasonalBenefitAttached(seasonal_benefit=SeasonalBenefitType.from_model(row))

    @strawberry.mutation(
        description="Stop a season giving a benefit; grants already made stay with members."
    )
    async def detach_seasonal_benefit(
        self, info: Info[Context, None], season_id: strawberry.ID, benefit_id: strawberry.ID
    ) -> DetachSeasonalBenefitResult:
        actor = require_actor(info, *CATALOGUE_EDITORS)
        season_pk = decode_id(season_id, kind="Season")
        benefit_pk = decode_id(benefit_id, kind="Benefit")
        if season_pk is None:
            return ValidationFailed.single("seasonId", "is not a valid Season id")
        if benefit_pk is None:
            return ValidationFailed.single("benefitId", "is not a valid Benefit id")
        try:
            row = await benefits.detach_seasonal_benefit(
                season_id=season_pk, benefit_id=benefit_pk, actor=actor, now=info.context.now
            )
        except NotFound as error:
            return NotFoundType.from_error(error, id=benefit_id)
        return SeasonalBenefitDetached(seasonal_benefit=SeasonalBenefitType.from_model(row))

    @strawberry.mutation(
        description="Use a benefit grant of the signed-in member's, once. Another member's "
        "grant is NotFound."
    )
    async def use_benefit(
        self, info: Info[Context, None], grant_id: strawberry.ID
    ) -> UseBenefitResult:
        principal = require_role(info, Role.MEMBER)
        assert principal.member_id is not None  # member tokens always carry one
        pk = decode_id(grant_id, kind="BenefitGrant")
        if pk is None:
            return ValidationFailed.single("grantId", "is not a valid BenefitGrant id")
        now = info.context.now
        try:
            grant = await benefits.use_benefit(member_id=principal.member_id, grant_id=pk, now=now)
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        except NotFound as error:
            return NotFoundType.from_error(error, id=grant_id)
        return BenefitUsed(grant=BenefitGrantType.from_model(grant, now=now))
