"""GraphQL types of the benefits catalogue, the tier and season matrices, and grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.ids import encode_id
from app.models import Benefit, BenefitGrant, SeasonalBenefit
from app.services.benefits import TierBenefits
from gamification.benefits import BenefitKind as BenefitKindEnum
from gamification.benefits import GrantSource, GrantStatus, effective_status

BenefitKind = strawberry.enum(BenefitKindEnum, name="BenefitKind")
BenefitGrantSource = strawberry.enum(GrantSource, name="BenefitGrantSource")
BenefitGrantStatus = strawberry.enum(GrantStatus, name="BenefitGrantStatus")

VALUE_DESCRIPTION = (
    "Per kind: DISCOUNT {percent: 1-100} or {amount: >0}; POINTS_MULTIPLIER {factor: "
    "1.01-10}; FREE_SHIPPING {}; PRIORITY_SERVICE {}; BIRTHDAY_GIFT {description}; "
    "EXCLUSIVE_EVENT {name, starts_at: ISO 8601 with offset}; COUPON {code_prefix, "
    "percent or amount}."
)


@strawberry.type(name="Benefit", description="A benefit of the catalogue.")
class BenefitType:
    id: strawberry.ID
    code: str
    name: str
    description: str
    kind: BenefitKind  # type: ignore[valid-type]
    value: JSON = strawberry.field(description=VALUE_DESCRIPTION)
    archived: bool

    @classmethod
    def from_model(cls, benefit: Benefit) -> BenefitType:
        return cls(
            id=strawberry.ID(encode_id("Benefit", benefit.id)),
            code=benefit.code,
            name=benefit.name,
            description=benefit.description,
            kind=benefit.kind,
            value=benefit.value,
            archived=benefit.archived_at is not None,
        )


@strawberry.type(name="TierBenefits", description="The benefits every member of a tier gets.")
class TierBenefitsType:
    tier_code: str
    benefits: list[BenefitType]

    @classmethod
    def from_row(cls, row: TierBenefits) -> TierBenefitsType:
        return cls(
            tier_code=row.tier_code, benefits=[BenefitType.from_model(b) for b in row.benefits]
        )


@strawberry.type(
    name="SeasonalBenefit",
    description="A benefit a season gives the members of some tiers while it runs.",
)
class SeasonalBenefitType:
    id: strawberry.ID
    season_id: strawberry.ID
    benefit: BenefitType
    tier_codes: list[str]

    @classmethod
    def from_model(cls, row: SeasonalBenefit) -> SeasonalBenefitType:
        return cls(
            id=strawberry.ID(encode_id("SeasonalBenefit", row.id)),
            season_id=strawberry.ID(encode_id("Season", row.season_id)),
            benefit=BenefitType.from_model(row.benefit),
            tier_codes=list(row.tier_codes),
        )


@strawberry.type(name="BenefitGrant", description="A benefit a member holds.")
class BenefitGrantType:
    id: strawberry.ID
    benefit: BenefitType
    kind: BenefitKind  # type: ignore[valid-type]
    value: JSON
    source: BenefitGrantSource  # type: ignore[valid-type]
    source_ref: str = strawberry.field(
        description="The tier code (`<code>@<n>` for a later stay in the tier), season id "
        "or birthday year the grant came from."
    )
    valid_from: datetime
    valid_to: datetime | None = strawberry.field(
        description="Exclusive; null: for as long as the source lasts."
    )
    status: BenefitGrantStatus = strawberry.field(  # type: ignore[valid-type]
        description="EXPIRED once validTo has passed, even before a job has marked it."
    )
    used_at: datetime | None

    @classmethod
    def from_model(cls, grant: BenefitGrant, *, now: datetime) -> BenefitGrantType:
        benefit = grant.benefit
        return cls(
            id=strawberry.ID(encode_id("BenefitGrant", grant.id)),
            benefit=BenefitType.from_model(benefit),
            kind=benefit.kind,
            value=benefit.value,
            source=grant.source,
            source_ref=grant.source_ref,
            valid_from=grant.valid_from,
            valid_to=grant.valid_to,
            status=effective_status(grant.status, valid_to=grant.valid_to, now=now),
            used_at=grant.used_at,
        )


@strawberry.input
class CreateBenefitInput:
    code: str
    name: str
    kind: BenefitKind  # type: ignore[valid-type]
    value: JSON = strawberry.field(description=VALUE_DESCRIPTION)
    description: str = ""


@strawberry.input(description="Only the fields given change; kind and value are checked together.")
class UpdateBenefitInput:
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    kind: BenefitKind | None = strawberry.UNSET  # type: ignore[valid-type]
    value: JSON | None = strawberry.UNSET


@strawberry.type
class BenefitSaved:
    benefit: BenefitType


@strawberry.type
class TierBenefitsSet:
    tier_benefits: TierBenefitsType


@strawberry.type
class SeasonalBenefitAttached:
    seasonal_benefit: SeasonalBenefitType


@strawberry.type
class SeasonalBenefitDetached:
    seasonal_benefit: SeasonalBenefitType


@strawberry.type(description="The grant was used; it cannot be used again.")
class BenefitUsed:
    grant: BenefitGrantType


BenefitResult = Annotated[
    BenefitSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("BenefitResult"),
]
SetTierBenefitsResult = Annotated[
    TierBenefitsSet | ValidationFailed | ForbiddenType, strawberry.union("SetTierBenefitsResult")
]
AttachSeasonalBenefitResult = Annotated[
    SeasonalBenefitAttached | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("AttachSeasonalBenefitResult"),
]
DetachSeasonalBenefitResult = Annotated[
    SeasonalBenefitDetached | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("DetachSeasonalBenefitResult"),
]
UseBenefitResult = Annotated[
    BenefitUsed | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("UseBenefitResult"),
]
