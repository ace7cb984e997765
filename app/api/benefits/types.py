"""GraphQL types of the benefits catalogue, the tier and season matrices, and grants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import Benefit, BenefitGrant, SeasonalBenefit
from app.services.benefits.catalogue import TierBenefits
from gamification.benefits import BenefitKind as BenefitKindEnum
from gamification.benefits import GrantSource, GrantStatus, effective_status

BenefitKind = described_enum(
    BenefitKindEnum,
    name="BenefitKind",
    description="What a benefit gives; each kind has its own shape of value.",
    values={
        "DISCOUNT": "A discount: a percent (1-100) or an amount off.",
        "POINTS_MULTIPLIER": "Events earn points times a factor (1.01-10) while it is valid.",
        "FREE_SHIPPING": "Free shipping.",
        "PRIORITY_SERVICE": "Priority customer service.",
        "BIRTHDAY_GIFT": "A birthday gift, described in words.",
        "EXCLUSIVE_EVENT": "An invitation to a named event at a given time.",
        "COUPON": "A coupon: a code prefix and a percent or an amount off.",
    },
)
BenefitGrantSource = described_enum(
    GrantSource,
    name="BenefitGrantSource",
    description="Why a member holds a grant; with sourceRef it is granted at most once.",
    values={
        "TIER": "The member's tier gives it (the tier x benefit matrix).",
        "SEASON": "A season gives it to the member's tier while the season runs.",
        "BIRTHDAY": "The member's birthday (once a year).",
        "MANUAL": "Granted by hand, outside the tier, season and birthday rules (no API grants "
        "these yet).",
    },
)
BenefitGrantStatus = described_enum(
    GrantStatus,
    name="BenefitGrantStatus",
    description="Where a grant is in its life.",
    values={
        "ACTIVE": "Not used and not expired (possibly not valid yet: see validFrom).",
        "USED": "Used once (useBenefit); it cannot be used again.",
        "EXPIRED": "Its validTo has passed unused.",
    },
)

VALUE_DESCRIPTION = (
    "Per kind: DISCOUNT {percent: 1-100} or {amount: >0}; POINTS_MULTIPLIER {factor: "
    "1.01-10}; FREE_SHIPPING {}; PRIORITY_SERVICE {}; BIRTHDAY_GIFT {description}; "
    "EXCLUSIVE_EVENT {name, starts_at: ISO 8601 with offset}; COUPON {code_prefix, "
    "percent or amount}."
)


@strawberry.type(name="Benefit", description="A benefit of the catalogue.")
class BenefitType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the benefit.")
    code: str = strawberry.field(description="Stable code, unique.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Text for members to read.")
    kind: BenefitKind = strawberry.field(  # type: ignore[valid-type]
        description="What kind of benefit; it decides the shape of value."
    )
    value: JSON = strawberry.field(description=VALUE_DESCRIPTION)
    archived: bool = strawberry.field(
        description="True once withdrawn: no new grants; grants held stay."
    )

    @classmethod
    def from_model(cls, benefit: Benefit) -> BenefitType:
        return cls(
            id=strawberry.ID(encode_id("Benefit", benefit.id)),
            code=benefit.code,
            name=benefit.name,
            description=benefit.description,
            kind=benefit.kind,
            value=JSON(benefit.value),
            archived=benefit.archived_at is not None,
        )


@strawberry.type(name="TierBenefits", description="The benefits every member of a tier gets.")
class TierBenefitsType:
    tier_code: str = strawberry.field(
        description="The tier's code (tiers are matched by code across ladder versions)."
    )
    benefits: list[BenefitType] = strawberry.field(
        description="The tier's benefits, in catalogue order."
    )

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
    id: strawberry.ID = strawberry.field(description="Opaque id of the attachment.")
    season_id: strawberry.ID = strawberry.field(description="The Season that gives it.")
    benefit: BenefitType = strawberry.field(description="The benefit given.")
    tier_codes: list[str] = strawberry.field(description="Codes of the tiers whose members get it.")

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
    id: strawberry.ID = strawberry.field(description="Opaque id, for useBenefit(grantId).")
    benefit: BenefitType = strawberry.field(description="The benefit granted.")
    kind: BenefitKind = strawberry.field(  # type: ignore[valid-type]
        description="The benefit's kind."
    )
    value: JSON = strawberry.field(description="The benefit's value (see Benefit.value).")
    source: BenefitGrantSource = strawberry.field(  # type: ignore[valid-type]
        description="Why the member holds it."
    )
    source_ref: str = strawberry.field(
        description="The tier code (`<code>@<n>` for a later stay in the tier), season id "
        "or birthday year the grant came from."
    )
    valid_from: datetime = strawberry.field(description="When it becomes usable, UTC.")
    valid_to: datetime | None = strawberry.field(
        description="Exclusive; null: for as long as the source lasts."
    )
    status: BenefitGrantStatus = strawberry.field(  # type: ignore[valid-type]
        description="EXPIRED once validTo has passed, even before a job has marked it."
    )
    used_at: datetime | None = strawberry.field(
        description="When it was used, UTC; null until then."
    )

    @classmethod
    def from_model(cls, grant: BenefitGrant, *, now: datetime) -> BenefitGrantType:
        benefit = grant.benefit
        return cls(
            id=strawberry.ID(encode_id("BenefitGrant", grant.id)),
            benefit=BenefitType.from_model(benefit),
            kind=benefit.kind,
            value=JSON(benefit.value),
            source=grant.source,
            source_ref=grant.source_ref,
            valid_from=grant.valid_from,
            valid_to=grant.valid_to,
            status=effective_status(grant.status, valid_to=grant.valid_to, now=now),
            used_at=grant.used_at,
        )


@strawberry.input(description="A new benefit of the catalogue.")
class CreateBenefitInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    kind: BenefitKind = strawberry.field(  # type: ignore[valid-type]
        description="What kind of benefit; value must have its shape."
    )
    value: JSON = strawberry.field(description=VALUE_DESCRIPTION)
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )


@strawberry.input(description="Only the fields given change; kind and value are checked together.")
class UpdateBenefitInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )
    kind: BenefitKind | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="What kind of benefit; value must have its shape."
    )
    value: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="The value for the kind (see Benefit.value); give it with a new kind.",
    )


@strawberry.type(description="The benefit is saved (and audited).")
class BenefitSaved:
    benefit: BenefitType = strawberry.field(description="The benefit as saved.")


@strawberry.type(
    description="The tier's benefits are set (and audited); grants follow at promotions."
)
class TierBenefitsSet:
    tier_benefits: TierBenefitsType = strawberry.field(
        description="The tier's whole set of benefits now."
    )


@strawberry.type(description="The season now gives the benefit (audited).")
class SeasonalBenefitAttached:
    seasonal_benefit: SeasonalBenefitType = strawberry.field(description="The attachment made.")


@strawberry.type(description="The season no longer gives the benefit (audited).")
class SeasonalBenefitDetached:
    seasonal_benefit: SeasonalBenefitType = strawberry.field(description="The attachment removed.")


@strawberry.type(description="The grant was used; it cannot be used again.")
class BenefitUsed:
    grant: BenefitGrantType = strawberry.field(description="The grant, now USED.")


BenefitResult = Annotated[
    BenefitSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "BenefitResult",
        description="BenefitSaved, or: ValidationFailed (the problems listed, e.g. a value "
        "that does not fit the kind; an archived benefit cannot change), NotFound (no such "
        "benefit), Forbidden (not a marketer or an admin).",
    ),
]
SetTierBenefitsResult = Annotated[
    TierBenefitsSet | ValidationFailed | ForbiddenType,
    strawberry.union(
        "SetTierBenefitsResult",
        description="TierBenefitsSet, or: ValidationFailed (no tier has the code; an unknown "
        "or archived benefit code), Forbidden (not a marketer or an admin).",
    ),
]
AttachSeasonalBenefitResult = Annotated[
    SeasonalBenefitAttached | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "AttachSeasonalBenefitResult",
        description="SeasonalBenefitAttached, or: ValidationFailed (an archived season or "
        "benefit, no or unknown tier codes, already attached), NotFound (no such season or "
        "benefit), Forbidden (not a marketer or an admin).",
    ),
]
DetachSeasonalBenefitResult = Annotated[
    SeasonalBenefitDetached | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "DetachSeasonalBenefitResult",
        description="SeasonalBenefitDetached, or: ValidationFailed (a malformed id), NotFound "
        "(the season does not give the benefit), Forbidden (not a marketer or an admin).",
    ),
]
UseBenefitResult = Annotated[
    BenefitUsed | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "UseBenefitResult",
        description="BenefitUsed, or: ValidationFailed on grantId (used already, expired, or "
        "not valid yet), NotFound (no such grant of the member's), Forbidden (not a member "
        "token).",
    ),
]
