"""Analytics rules: the calendar buckets reports are grouped by, in the programme's zone, and
the percentile rule reports state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gamification.shared.calendar import Window, window_for

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
        found.append(
            Bucket(key=span.key.split(":", 1)[1], starts_at=span.starts_at, ends_at=span.ends_at)
        )
        if len(found) > MAX_BUCKETS:
            raise ValueError(f"at most {MAX_BUCKETS} {granularity.value}s per report")
        at = span.ends_at
    return found


def nearest_rank(histogram: Mapping[int, int], percent: int) -> int | None:
    """The nearest-rank percentile of the values a histogram counts (value -> how many times).

    The ``percent``-th percentile of n values is the ceil(percent * n / 100)-th smallest:
    the smallest value with at least ``percent`` % of the values at or below it, always one
    of the values. The median is ``percent=50`` (the lower middle one for an even n). None
    when there are no values; ValueError for a percent outside 1..100 or a negative count.
    """
    if not 1 <= percent <= 100:
        raise ValueError("percent must be between 1 and 100")
    if any(n < 0 for n in histogram.values()):
        raise ValueError("counts must not be negative")
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = -(-percent * total // 100)  # ceil, in integers
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= wanted:
            return value
    raise AssertionError("unreachable: the counts add up to total")
