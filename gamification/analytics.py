"""Analytics rules: the calendar buckets reports are grouped by, in the programme's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gamification.calendar import Window, window_for

MAX_BUCKETS = 400


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One local day, ISO week or month: ``key`` names it, [starts_at, ends_at) in UTC."""

    key: str
    starts_at: datetime
    ends_at: datetime


def buckets(
    granularity: Granularity, *, starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> list[Bucket]:
    """The local periods that overlap [starts_at, ends_at), in order (ValueError when the
    span is empty, naive or longer than MAX_BUCKETS periods)."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("from and to must include a time zone offset")
    if ends_at <= starts_at:
        raise ValueError("to must be after from")
    found: list[Bucket] = []
    at = starts_at
    while at < ends_at:
        span = window_for(Window(granularity.value), at, zone=zone)
        assert span is not None and span.starts_at is not None and span.ends_at is not None
        found.append(Bucket(key=span.key.split(":", 1)[1], starts_at=span.starts_at,
                            ends_at=span.ends_at))  # fmt: skip
        if len(found) > MAX_BUCKETS:
            raise ValueError(f"at most {MAX_BUCKETS} {granularity.value}s per report")
        at = span.ends_at
    return found
