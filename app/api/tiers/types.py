"""GraphQL types of the tier ladder."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from app.models import Tier


@strawberry.type(name="Tier", description="One rung of the tier ladder.")
class TierType:
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
            code=tier.code,
            name=tier.name,
            rank=tier.rank,
            entry_threshold=tier.entry_threshold,
            retention_threshold=tier.retention_threshold,
            multiplier=tier.multiplier,
        )
