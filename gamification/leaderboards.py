"""Leaderboard rules: what a board counts, which periods an activity counts in, and the order.

A board ranks members by a **metric** over a **period** (all time, a season, or the
calendar day, ISO week or month in the programme's time zone). Scores only come from
engine outcomes: the points an event earned (or a reversal took back), the growth it
added, the tasks it completed.

Order: higher score first; on equal scores whoever reached that score first (to the
second), then whoever's change was recorded first (a sequence number). Equal scores never
fall back to member ids. Ranks are 1-based and dense (no gaps, no shared ranks).

The fast index keeps one sorted set per board and period; :func:`sort_value` packs score
and time into the one float a sorted set orders by, and :func:`unpack` reads the score
back. Members who reached the same score in the same second share a sort value; the index
orders them by sequence number (see app.services.leaderboards.index).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from gamification.shared.calendar import Season, Window, WindowSpan, window_for
from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_span,
    check_text,
)
from gamification.shared.problems import Problem


class Metric(StrEnum):
    POINTS_EARNED = "points_earned"
    GROWTH = "growth"
    TASKS_COMPLETED = "tasks_completed"


class Period(StrEnum):
    ALL_TIME = "all_time"
    SEASON = "season"
    MONTH = "month"
    WEEK = "week"
    DAY = "day"

    @property
    def window(self) -> Window:
        return Window.LIFETIME if self is Period.ALL_TIME else Window(self.value)


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """One metric of one member moved by ``delta`` in the period named ``period_key``."""

    metric: Metric
    period_key: str
    delta: int


def metric_deltas(*, points: int, growth: int, tasks_completed: int) -> dict[Metric, int]:
    """What an engine outcome adds to each metric (zero deltas left out)."""
    deltas = {
        Metric.POINTS_EARNED: points,
        Metric.GROWTH: growth,
        Metric.TASKS_COMPLETED: tasks_completed,
    }
    return {metric: delta for metric, delta in deltas.items() if delta}


def periods_at(at: datetime, *, zone: ZoneInfo, seasons: Iterable[Season]) -> list[WindowSpan]:
    """Every period an activity at ``at`` counts in: all time, its local day, week and
    month, and each season running at ``at``."""
    spans = [
        span
        for window in (Window.LIFETIME, Window.DAY, Window.WEEK, Window.MONTH)
        if (span := window_for(window, at, zone=zone)) is not None
    ]
    for season in seasons:
        span = window_for(Window.SEASON, at, zone=zone, season=season)
        if span is not None:
            spans.append(span)
    return spans


def score_changes(deltas: dict[Metric, int], periods: Sequence[WindowSpan]) -> list[ScoreChange]:
    return [
        ScoreChange(metric=metric, period_key=span.key, delta=delta)
        for metric, delta in deltas.items()
        for span in periods
    ]


def period_key_at(period: Period, at: datetime, *, zone: ZoneInfo, season_id: int | None) -> str:
    """The key of the period of kind ``period`` that contains ``at`` (a season board's
    period is its season, whenever it is read)."""
    if period is Period.SEASON:
        if season_id is None:
            raise ValueError("a season board needs its season")
        return f"season:{season_id}"
    span = window_for(period.window, at, zone=zone)
    assert span is not None
    return span.key


def period_ends_at(key: str, *, zone: ZoneInfo) -> datetime | None:
    """When the calendar period ``key`` names ends (UTC, exclusive): ``None`` for all time
    and for seasons (their end is the season's), ``ValueError`` for a malformed key."""
    kind, _, name = key.partition(":")
    match kind:
        case "lifetime" | "season":
            return None
        case "day":
            at = date.fromisoformat(name)
            window = Window.DAY
        case "week":
            year, week = name.split("-W")
            at = date.fromisocalendar(int(year), int(week), 1)
            window = Window.WEEK
        case "month":
            at = date.fromisoformat(f"{name}-01")
            window = Window.MONTH
        case _:
            raise ValueError(f"not a period key: {key!r}")
    # Local noon is inside the period whatever the zone's offset.
    noon = datetime.combine(at, time(12), tzinfo=zone)
    span = window_for(window, noon, zone=zone)
    assert span is not None and span.key == key, (span, key)
    return span.ends_at


def period_of(period: Period, key: str) -> bool:
    """True when ``key`` names a period of kind ``period``."""
    if period is Period.ALL_TIME:
        return key == "lifetime"
    return key.startswith(f"{period.value}:")


# Sort values: score * 2**TICK_BITS + (2**TICK_BITS - 1 - tick), tick = whole seconds
# since ORIGIN (clamped). 31 bits of seconds reach into 2088; a float holds integers
# exactly up to 2**53, so scores up to 2**22 - 1 (4,194,303) keep their exact tie order
# and any score keeps its order against other scores.
TICK_BITS = 31
ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)
_TICKS = 1 << TICK_BITS
MAX_EXACT_SCORE = (1 << (53 - TICK_BITS)) - 1


def reached_second(at: datetime) -> datetime:
    """The instant a score was reached, as the order counts it (whole seconds)."""
    return at.astimezone(UTC).replace(microsecond=0)


def tick_of(reached_at: datetime) -> int:
    seconds = int((reached_at.astimezone(UTC) - ORIGIN).total_seconds())
    return min(max(seconds, 0), _TICKS - 1)


def sort_value(score: int, reached_at: datetime) -> float:
    """The float a sorted set orders by: higher for a higher score, and for an equal score
    higher for the earlier second."""
    return float(score * _TICKS + (_TICKS - 1 - tick_of(reached_at)))


def unpack(value: float) -> int:
    """The score a sort value was made from."""
    return int(value) // _TICKS  # floor division: right for negative scores too


def order_key(score: int, reached_at: datetime, seq: int) -> tuple[int, int, int]:
    """Sorting by this key ascending gives board order (the database's ORDER BY)."""
    return (-score, tick_of(reached_at), seq)


def check_board(
    *,
    code: str,
    name: str,
    description: str,
    period: Period,
    has_season: bool,
    tier_code: str | None,
    tier_codes: Iterable[str],
    visible_from: datetime | None,
    visible_to: datetime | None,
) -> list[Problem]:
    """Everything wrong with a board definition, in field order (empty when it may be saved)."""
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    if period is Period.SEASON and not has_season:
        problems.append(Problem("seasonId", "a season board needs its season"))
    if period is not Period.SEASON and has_season:
        problems.append(Problem("seasonId", "only a season board has a season"))
    if tier_code is not None and tier_code not in set(tier_codes):
        problems.append(Problem("tierCode", f"{tier_code!r} is not a tier of the ladder"))
    check_span(visible_from, visible_to, problems, fields=("visibleFrom", "visibleTo"))
    return problems


_PERIOD_FORMATS = {
    Period.DAY: ("%Y-%m-%d", "2026-11-25"),
    Period.WEEK: ("%G-W%V-%u", "2026-W48"),
    Period.MONTH: ("%Y-%m", "2026-11"),
}
# What people call the one period of an all-time board.
ALL_TIME_NAME = "all-time"


@dataclass(frozen=True, slots=True)
class BoardSeason:
    """The season of a season board: its id names the stored period, its code the period
    as people write it."""

    id: int
    code: str


def period_name(key: str, *, season_code: str | None = None) -> str:
    """A stored period key as people write it: ``2026-11-25``, ``2026-W48``, ``2026-11``,
    ``all-time``, or the season's code for ``season:<id>`` (ValueError when malformed).

    The stored keys stay internal: a season's code can be edited, its id cannot, so
    ``leaderboard_score`` rows and Redis keys keep naming seasons by id."""
    if key == "lifetime":
        return ALL_TIME_NAME
    kind, _, rest = key.partition(":")
    if kind in ("day", "week", "month") and rest:
        return rest
    if kind == "season" and rest.isdigit():
        if season_code is None:
            raise ValueError(f"naming {key!r} needs its season's code")
        return season_code
    raise ValueError(f"not a period key: {key!r}")


def period_key_for(
    period: Period,
    *,
    at: datetime,
    zone: ZoneInfo,
    season: BoardSeason | None,
    name: str | None,
) -> str:
    """The stored key of the board's period: the one named as people write it
    (``2026-11-25``, ``2026-W48``, ``2026-11`` for day, week and month boards, ``all-time``
    for an all-time board, the season's code for a season board) or, with no name, the one
    running at ``at``. Raises ValueError on a name that is not one of the board's periods."""
    if period is Period.ALL_TIME:
        if name not in (None, ALL_TIME_NAME):
            raise ValueError(f"an all-time board has one period: {ALL_TIME_NAME}")
        return "lifetime"
    if period is Period.SEASON:
        if season is None:
            raise ValueError("the board has no season")
        if name not in (None, season.code):
            raise ValueError(f"a season board has one period: its season, {season.code}")
        return f"season:{season.id}"
    if name is None:
        span = window_for(period.window, at, zone=zone)
        assert span is not None  # day, week and month windows always exist
        return span.key
    pattern, example = _PERIOD_FORMATS[period]
    try:
        text = name + "-1" if period is Period.WEEK else name
        parsed = datetime.strptime(text, pattern)
    except ValueError:
        raise ValueError(f"a {period.value} board's period looks like {example}") from None
    span = window_for(period.window, parsed.replace(tzinfo=zone), zone=zone)
    assert span is not None
    return span.key


# A board period as one integer, for the rank index: a narrow key counts twice as fast as
# the metric and period key as text. Injective: metric (2 bits) and period kind (3 bits)
# on top, the period's number below (days since 1970, year*100+week, year*12+month, the
# season's id, 0 for all time).
_SCOPE_METRICS = {metric: n for n, metric in enumerate(Metric)}
_SCOPE_KINDS = {"lifetime": 0, "day": 1, "week": 2, "month": 3, "season": 4}
_SCOPE_SHIFT = 58
_EPOCH_DAY = datetime(1970, 1, 1).date()


@lru_cache(maxsize=4096)  # every event asks for the same few (metric, period) pairs
def scope_of(metric: Metric | str, period_key: str) -> int:
    """The integer naming ``metric`` in the period ``period_key`` (ValueError if malformed)."""
    kind, _, rest = period_key.partition(":")
    if kind not in _SCOPE_KINDS or (kind == "lifetime") != (rest == ""):
        raise ValueError(f"not a period key: {period_key!r}")
    if kind == "day":
        number = (datetime.strptime(rest, "%Y-%m-%d").date() - _EPOCH_DAY).days
    elif kind == "week":
        year, _, week = rest.partition("-W")
        number = int(year) * 100 + int(week)
    elif kind == "month":
        year, _, month = rest.partition("-")
        number = int(year) * 12 + int(month)
    elif kind == "season":
        number = int(rest)
    else:
        number = 0
    if not 0 <= number < 1 << _SCOPE_SHIFT:
        raise ValueError(f"period out of range: {period_key!r}")
    top = _SCOPE_METRICS[Metric(metric)] * 8 + _SCOPE_KINDS[kind]
    return (top << _SCOPE_SHIFT) | number
