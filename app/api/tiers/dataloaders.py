"""Per-request access to the programme's catalogue (the tier ladder and its tiers).

Tiers and ladders come from the per-process programme snapshot
(app/services/programme/snapshot.py), never from a query of their own: a member read with the
programme stamp beside its row (app/services/members/reads.py) finds its snapshot without a
statement; anything else reads the current stamp, once per DataLoader batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from strawberry.dataloader import DataLoader

from app.services.members.reads import programme_at
from app.services.programme.snapshot import Programme, ProgrammeTier


class ProgrammeLoader:
    """The programme as the resolvers of one request read it."""

    def __init__(self, *, now: datetime) -> None:
        self._now = now
        # By stamp: a stamp names one programme, so what was found for it holds all along.
        self._by_stamp: dict[int, Programme] = {}
        self._reading = asyncio.Lock()
        # Not cached: a mutation earlier in the document may have changed the programme,
        # and a read after it must see the change. Fields resolved together share a read.
        self._current: DataLoader[None, Programme] = DataLoader(
            load_fn=self._load_current, cache=False
        )

    async def _load_current(self, keys: Sequence[None]) -> list[Programme]:
        programme = await programme_at(None)
        return [programme] * len(keys)

    async def at(self, stamp: int | None) -> Programme:
        """The programme at ``stamp`` (read beside the rows it is for), else the current one."""
        if stamp is None:
            return await self._current.load(None)
        found = self._by_stamp.get(stamp)
        if found is None:
            # A page of members shares one stamp: one of them reads, the rest wait for it.
            async with self._reading:
                found = self._by_stamp.get(stamp)
                if found is None:
                    found = self._by_stamp[stamp] = await programme_at(stamp)
        return found

    async def tier(self, tier_id: int, *, stamp: int | None) -> ProgrammeTier:
        """A tier of any ladder version, by id (a member's, read with ``stamp``)."""
        return self.tier_of(await self.at(stamp), tier_id)

    async def ladder_tiers(self, *, stamp: int | None = None) -> tuple[ProgrammeTier, ...]:
        """The tiers of the ladder in force when the request started, lowest rank first
        (none before a ladder is published)."""
        return self.ladder_tiers_of(await self.at(stamp))

    @staticmethod
    def tier_of(programme: Programme, tier_id: int) -> ProgrammeTier:
        tier = programme.tiers.get(tier_id)
        if tier is None:  # a foreign key guarantees it; this would be a corrupt database
            raise RuntimeError(f"no tier {tier_id} in the programme")
        return tier

    def ladder_tiers_of(self, programme: Programme) -> tuple[ProgrammeTier, ...]:
        ladder = programme.ladder_at(self._now)
        return ladder.tiers if ladder is not None else ()
