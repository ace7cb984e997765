"""Threshold calibration: the growth distribution of active members, by one grouped
statement, and the entry thresholds :mod:`gamification.tiers.calibration` suggests from it.

An *active* member has at least one active day (a local day with an event, the rows of
``member_active_day``) among the last ``active_within_days`` local days, today included.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.db import connection, sql
from app.services.shared.errors import InvalidInput, ProgrammeNotConfigured
from app.services.tiers.ladder import tiers_in_force
from gamification.shared.calendar import local_day
from gamification.tiers.calibration import Calibration, InvalidShares
from gamification.tiers.calibration import suggest_thresholds as suggest

DEFAULT_ACTIVE_WITHIN_DAYS = 90
MAX_ACTIVE_WITHIN_DAYS = 731


async def growth_histogram(
    *, now: datetime, zone: ZoneInfo, active_within_days: int
) -> list[tuple[int, int]]:
    """(growth, members) of the active members, by growth ascending: one grouped
    statement, one row per distinct growth value (growth is an integer)."""
    since = local_day(now, zone=zone) - timedelta(days=active_within_days - 1)
    conn = connection()
    postgres = conn.capabilities.dialect == "postgres"
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT m.growth AS growth, count(*) AS n FROM member m WHERE EXISTS ("
            "SELECT 1 FROM member_active_day a WHERE a.member_id = m.id AND a.day >= ?) "
            "GROUP BY m.growth ORDER BY m.growth",
        ),
        # SQLite keeps dates as ISO text; asyncpg wants a date for a date column.
        [since if postgres else since.isoformat()],
    )
    return [(int(r["growth"]), int(r["n"])) for r in rows]


async def suggest_thresholds(
    *,
    shares: Sequence[float],
    now: datetime,
    zone: ZoneInfo,
    active_within_days: int = DEFAULT_ACTIVE_WITHIN_DAYS,
) -> Calibration:
    """Entry thresholds for the tiers above the base tier of the ladder in force, one per
    target share (lowest tier first), from the growth of the active members."""
    if not 1 <= active_within_days <= MAX_ACTIVE_WITHIN_DAYS:
        raise InvalidInput.single(
            "activeWithinDays", f"must be from 1 to {MAX_ACTIVE_WITHIN_DAYS} days"
        )
    ladder = await tiers_in_force(now=now)
    if not ladder:
        raise ProgrammeNotConfigured()
    histogram = await growth_histogram(now=now, zone=zone, active_within_days=active_within_days)
    try:
        return suggest(histogram=histogram, shares=shares, tiers_above_base=len(ladder) - 1)
    except InvalidShares as exc:
        raise InvalidInput.single("targetShares", str(exc)) from exc
