"""The time windows growth tasks count in: lifetime, day, week, month and season.

Days, weeks and months are calendar periods in the programme's time zone, so a member in
Shanghai who checks in at 00:30 local time has checked in "today", not "yesterday in UTC".
Every boundary is a local midnight turned into a UTC instant, which makes DST days 23 or
25 hours long rather than 24; spans are therefore always built from local calendar dates
and never by adding a ``timedelta`` to an instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import assert_never
from zoneinfo import ZoneInfo

_ONE_DAY = timedelta(days=1)


class Window(StrEnum):
    """The period a task's progress is counted over; it starts afresh in each new period."""

    LIFETIME = "lifetime"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    SEASON = "season"


@dataclass(frozen=True, slots=True)
class Season:
    """A time-boxed campaign, running from ``starts_at`` up to (not including) ``ends_at``."""

    id: int
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "season starts_at")
        _require_aware(self.ends_at, "season ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"season {self.id} must end after it starts")


@dataclass(frozen=True, slots=True)
class WindowSpan:
    """One concrete window: ``key`` names it (unique per window kind) for progress rows.

    ``starts_at`` and ``ends_at`` are UTC instants, ``ends_at`` exclusive; both are
    ``None`` for the lifetime window, which never starts or ends.
    """

    key: str
    starts_at: datetime | None
    ends_at: datetime | None


def local_day(at: datetime, *, zone: ZoneInfo) -> date:
    """The calendar date in ``zone`` at the instant ``at``."""
    _require_aware(at, "at")
    return at.astimezone(zone).date()


def next_local_midnight(at: datetime, *, zone: ZoneInfo) -> datetime:
    """The UTC instant the local day after ``at``'s begins: where a day window ends."""
    return _start_of_local_day(local_day(at, zone=zone) + _ONE_DAY, zone)


def window_for(
    window: Window, at: datetime, *, zone: ZoneInfo, season: Season | None = None
) -> WindowSpan | None:
    """The window of kind ``window`` that contains the instant ``at``.

    Day, week (ISO, from Monday) and month windows run from local midnight to local
    midnight in ``zone``. A season window is ``season`` itself, or ``None`` when there is
    no season or ``at`` falls outside it.
    """
    _require_aware(at, "at")
    match window:
        case Window.LIFETIME:
            return _LIFETIME
        case Window.SEASON:
            if season is None or not season.starts_at <= at < season.ends_at:
                return None
            return WindowSpan(
                key=f"season:{season.id}",
                starts_at=season.starts_at.astimezone(UTC),
                ends_at=season.ends_at.astimezone(UTC),
            )
        case _:
            return _calendar_window(window, local_day(at, zone=zone), zone)


_LIFETIME = WindowSpan(key="lifetime", starts_at=None, ends_at=None)


# Every event asks for the day, week and month windows of its local day: the same few
# days over and over, so their spans (keys and local midnights) are kept.
@lru_cache(maxsize=1024)
def _calendar_window(window: Window, day: date, zone: ZoneInfo) -> WindowSpan:
    match window:
        case Window.DAY:
            first, after = day, day + _ONE_DAY
            key = f"day:{day.isoformat()}"
        case Window.WEEK:
            first = day - timedelta(days=day.weekday())
            after = first + timedelta(days=7)
            iso = day.isocalendar()
            key = f"week:{iso.year:04d}-W{iso.week:02d}"
        case Window.MONTH:
            first = day.replace(day=1)
            after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            key = f"month:{day.year:04d}-{day.month:02d}"
        case Window.LIFETIME | Window.SEASON:
            raise ValueError(f"{window} is not a calendar window")
        case _:
            assert_never(window)
    return WindowSpan(
        key=key,
        starts_at=_start_of_local_day(first, zone),
        ends_at=_start_of_local_day(after, zone),
    )


def _start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant local ``day`` begins in ``zone``: its midnight, or where DST skips it,
    the jump.

    ``fold=0`` reads an ambiguous midnight as its first occurrence, and a skipped one
    (Santiago, Havana and Beirut have moved their clocks at 00:00) with the offset from
    before the jump, which lands exactly on the jump. A date skipped whole (Samoa, 30
    December 2011) begins where the next one does, so consecutive windows still tile.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _require_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
