"""Per-request loaders for the tier ladder."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from strawberry.dataloader import DataLoader

from app.models import Tier
from app.services.ladder import tiers_in_force


async def _load_tiers(keys: Sequence[int]) -> list[Tier | None]:
    by_id = {t.id: t for t in await Tier.filter(id__in=set(keys))}
    return [by_id.get(k) for k in keys]


def tier_by_id_loader() -> DataLoader[int, Tier | None]:
    return DataLoader(load_fn=_load_tiers)


class LadderInForce:
    """The ladder in force when the request started, read at most once per request."""

    def __init__(self, *, now: datetime) -> None:
        self._now = now
        self._tiers: list[Tier] | None = None
        # Resolvers of a page ask concurrently; without it each would read the ladder.
        self._reading = asyncio.Lock()

    async def tiers(self) -> list[Tier]:
        async with self._reading:
            if self._tiers is None:
                self._tiers = await tiers_in_force(now=self._now)
        return self._tiers
