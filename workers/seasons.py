"""arq jobs of the seasons domain. Each is idempotent: arq may run a job more than once
after a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.models import Season
from app.services.seasons.switch import BATCH, grant_season


async def grant_season_benefits(
    ctx: dict[str, Any], *, season_id: int, batch_size: int = BATCH
) -> int:
    """Grant a running season's benefits to its eligible members now (what the minutely
    ``season_boundaries`` job does for every season), resuming where an earlier run
    stopped. Returns the grants made; 0 when the season is not running or all are held."""
    season = await Season.get_or_none(id=season_id)
    if season is None:
        return 0
    return await grant_season(season=season, now=datetime.now(UTC), batch_size=batch_size)
