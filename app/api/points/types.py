"""GraphQL results of an admin's awards and corrections of points."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.members.types import LedgerEntryType, MemberType
from app.api.shared.errors import (
    ForbiddenType,
    IdempotencyConflictType,
    MemberMergedAwayType,
    NotFoundType,
    ValidationFailed,
)


@strawberry.type(description="The award was written, or had been written under this key.")
class PointsAwarded:
    entry: LedgerEntryType = strawberry.field(description="The ledger row of the award.")
    member: MemberType = strawberry.field(description="The member, with the new balance.")
    replayed: bool = strawberry.field(
        description="True when the idempotency key was used before: entry is the first award "
        "and nothing new was written."
    )


@strawberry.type(description="The correction was written, or had been under this key.")
class PointsAdjusted:
    entry: LedgerEntryType = strawberry.field(description="The ledger row of the correction.")
    member: MemberType = strawberry.field(description="The member, with the new balance.")
    replayed: bool = strawberry.field(
        description="True when the idempotency key was used before: entry is the first "
        "correction and nothing new was written."
    )


AdjustPointsResult = Annotated[
    PointsAdjusted
    | ValidationFailed
    | NotFoundType
    | IdempotencyConflictType
    | MemberMergedAwayType
    | ForbiddenType,
    strawberry.union(
        "AdjustPointsResult",
        description="PointsAdjusted, or: ValidationFailed (delta 0 or too large, a reason "
        "shorter than required, an empty key, a balance below zero), NotFound (no such member), "
        "IdempotencyConflict (the key was used for another correction), MemberMergedAway (the "
        "member was merged into another: correct the survivor), Forbidden (not an admin).",
    ),
]


AwardPointsResult = Annotated[
    PointsAwarded
    | ValidationFailed
    | NotFoundType
    | IdempotencyConflictType
    | MemberMergedAwayType
    | ForbiddenType,
    strawberry.union(
        "AwardPointsResult",
        description="PointsAwarded, or: ValidationFailed (amount not positive or above the "
        "per-award maximum, empty reason or key), NotFound (no such member), "
        "IdempotencyConflict (the key was used for another award), MemberMergedAway (the "
        "member was merged into another: award the survivor), Forbidden (not an admin).",
    ),
]
