"""GraphQL types of the tier ladder."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from app.api.ids import encode_id
from app.models import LadderVersion, Tier


@strawberry.type(name="Tier", description="One rung of the tier ladder.")
class TierType:
    id: strawberry.ID = strawberry.field(
        description="Unique per tier of each ladder version: the same code in two versions "
        "(with their own thresholds) is two tiers."
    )
    code: str
    name: str
    rank: int = strawberry.field(description="0 for the base tier, rising by one per rung.")
    entry_threshold: int = strawberry.field(description="Growth needed to be promoted into it.")
    retention_threshold: int = strawberry.field(
        description="Growth needed at an evaluation to keep it."
    )
    multiplier: Decimal = strawberry.field(description="Points multiplier of the tier.")

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


@strawberry.type(name="LadderVersion", description="A version of the ladder rules.")
class LadderVersionType:
    id: strawberry.ID
    number: int
    status: str = strawberry.field(description="draft or published")
    effective_at: datetime | None
    published_at: datetime | None
    notes: str
    tiers: list[TierType]

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
