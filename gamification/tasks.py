"""Growth tasks: what counts, when a task is complete, and the progress kept in between."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from gamification.shared.calendar import Season, Window


class Condition(StrEnum):
    COUNT = "count"  # at least N events
    SUM = "sum"  # amounts add up to at least N
    STREAK = "streak"  # events on N consecutive local days
    DISTINCT_DAYS = "distinct_days"  # events on N different local days


@dataclass(frozen=True, slots=True)
class TaskRule:
    id: int
    code: str
    name: str
    event_type: str
    condition: Condition
    target: int
    window: Window = Window.LIFETIME
    # Completions allowed within one window (None: unlimited) and in total per member.
    per_window_limit: int | None = 1
    cap: int | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    season: Season | None = None
    reward_points: int = 0
    reward_growth: int = 0
    reward_badge: str | None = None

    def is_scheduled_at(self, at: datetime) -> bool:
        if self.starts_at is not None and at < self.starts_at:
            return False
        if self.ends_at is not None and at >= self.ends_at:
            return False
        if self.season is not None and not self.season.starts_at <= at < self.season.ends_at:
            return False
        return True

    def admits_tier(self, rank: int) -> bool:
        low_ok = self.min_tier_rank is None or rank >= self.min_tier_rank
        return low_ok and (self.max_tier_rank is None or rank <= self.max_tier_rank)


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """Progress of one member on one task within one window (restarts after a completion)."""

    task_id: int
    window_key: str
    count: int = 0
    total: Decimal = Decimal(0)
    days: int = 0
    streak: int = 0
    last_day: date | None = None
    completions: int = 0  # in this window

    def measure(self, condition: Condition) -> Decimal:
        """How far along the condition's own measure (events, amount or days)."""
        if condition is Condition.COUNT:
            return Decimal(self.count)
        if condition is Condition.SUM:
            return self.total
        if condition is Condition.STREAK:
            return Decimal(self.streak)
        return Decimal(self.days)


def advance(progress: TaskProgress, *, amount: Decimal, day: date) -> TaskProgress:
    """Count one event on local ``day``.

    Days only move forward: an event for a day at or before the last counted day adds to
    counts and sums but not to days or streaks (a late, back-filled event cannot reopen a
    day that was already judged). A day after a gap restarts the streak at 1.
    """
    days, streak, last_day = progress.days, progress.streak, progress.last_day
    if last_day is None or day > last_day:
        days += 1
        consecutive = last_day is not None and (day - last_day).days == 1
        streak = streak + 1 if consecutive else 1
        last_day = day
    return replace(
        progress,
        count=progress.count + 1,
        total=progress.total + amount,
        days=days,
        streak=streak,
        last_day=last_day,
    )


def is_met(rule: TaskRule, progress: TaskProgress) -> bool:
    return progress.measure(rule.condition) >= rule.target


def restart_after_completion(progress: TaskProgress) -> TaskProgress:
    """A completion uses up the progress; the last day stays so it cannot count twice."""
    return replace(
        progress,
        count=0,
        total=Decimal(0),
        days=0,
        streak=0,
        completions=progress.completions + 1,
    )
