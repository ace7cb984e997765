"""GraphQL types of the tier ladder."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.api.shared.ids import encode_id
from app.models import LadderVersion, Tier
from app.services.programme.snapshot import ProgrammeTier


@strawberry.type(name="Tier", description="One rung of the tier ladder.")
class TierType:
    id: strawberry.ID = strawberry.field(
        description="Unique per tier of each ladder version: the same code in two versions "
        "(with their own thresholds) is two tiers."
    )
    code: str = strawberry.field(
        description="The tier's stable code, e.g. gold (kept across ladder versions)."
    )
    name: str = strawberry.field(description="Display name, e.g. Gold.")
    rank: int = strawberry.field(description="0 for the base tier, rising by one per rung.")
    entry_threshold: int = strawberry.field(
        description="Growth (not points) needed to be promoted into it; 0 for the base tier."
    )
    retention_threshold: int = strawberry.field(
        description="Growth needed at an evaluation to keep it: at most the entry threshold, "
        "so members do not flap around the line."
    )
    multiplier: Decimal = strawberry.field(
        description='Points multiplier of the tier, above 0 and at most 10, e.g. "1.5": '
        "events earn 1.5 times their points."
    )

    @classmethod
    def from_model(cls, tier: Tier) -> TierType:
        return cls(
            id=strawberry.ID(encode_id("Tier", tier.id)),
            code=tier.code,
            name=tier.name,
            rank=tier.rank,
            entry_threshold=tier.entry_threshold,
            retention_threshold=tier.retention_threshold,
            multiplier=tier.multiplier,
        )

    @classmethod
    def from_programme(cls, tier: ProgrammeTier) -> TierType:
        """The same tier, from the per-process programme snapshot."""
        return cls(
            id=strawberry.ID(encode_id("Tier", tier.id)),
            code=tier.code,
            name=tier.rule.name,
            rank=tier.rank,
            entry_threshold=tier.rule.entry_threshold,
            retention_threshold=tier.rule.retention_threshold,
            multiplier=tier.multiplier,
        )


@strawberry.type(
    name="LadderVersion",
    description="A version of the ladder rules: a draft, or published and in force from its "
    "effective date.",
)
class LadderVersionType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the version.")
    number: int = strawberry.field(description="1, 2, 3, ... in order of creation.")
    status: str = strawberry.field(description="draft or published")
    effective_at: datetime | None = strawberry.field(
        description="When it takes (or took) effect, UTC; null for a draft."
    )
    published_at: datetime | None = strawberry.field(
        description="When it was published (and members told), UTC; null for a draft."
    )
    notes: str = strawberry.field(description="The admin's notes on the change.")
    tiers: list[TierType] = strawberry.field(description="Its tiers, lowest rank first.")

    @classmethod
    def from_model(cls, version: LadderVersion, tiers: list[Tier]) -> LadderVersionType:
        return cls(
            id=strawberry.ID(encode_id("LadderVersion", version.id)),
            number=version.number,
            status=version.status.value,
            effective_at=version.effective_at,
            published_at=version.published_at,
            notes=version.notes,
            tiers=[TierType.from_model(t) for t in tiers],
        )
