"""Growth tasks: what a valid task is, what counts, when a task is complete, and the progress
kept in between."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from gamification.seasons import SeasonBounds
from gamification.shared.calendar import Season, Window
from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_span,
    check_text,
)
from gamification.shared.problems import Problem

MAX_REWARD_POINTS = 1_000_000
MAX_TARGET = 1_000_000_000


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


def check_task(
    *,
    code: str,
    name: str,
    description: str,
    event_type_known: bool,
    condition: Condition,
    target: int,
    window: Window,
    per_window_limit: int | None,
    cap: int | None,
    min_tier_rank: int | None,
    max_tier_rank: int | None,
    tier_count: int,
    starts_at: datetime | None,
    ends_at: datetime | None,
    season: SeasonBounds | None,
    reward_points: int,
    reward_growth: int,
    reward_badge_known: bool | None,
) -> list[Problem]:
    """Everything wrong with a growth task definition, in field order."""
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    if not event_type_known:
        problems.append(Problem("eventType", "is not in the event catalogue"))
    if not 1 <= target <= MAX_TARGET:
        problems.append(Problem("target", f"must be between 1 and {MAX_TARGET}"))
    if (
        condition in (Condition.STREAK, Condition.DISTINCT_DAYS)
        and window is Window.DAY
        and target > 1
    ):
        problems.append(Problem("target", "a day window holds one day: use a longer window"))
    if window is Window.SEASON and season is None:
        problems.append(Problem("window", "a season window needs a season"))
    if window is Window.LIFETIME and season is not None:
        # Lifetime progress never starts afresh, so it would outlive the season it is for.
        problems.append(
            Problem("window", "a seasonal task counts in SEASON, MONTH, WEEK or DAY windows")
        )
    if per_window_limit is not None and per_window_limit < 1:
        problems.append(Problem("perWindowLimit", "must be at least 1 (or null: no limit)"))
    if cap is not None and cap < 1:
        problems.append(Problem("cap", "must be at least 1 (or null: no cap)"))
    for field, rank in (("minTierRank", min_tier_rank), ("maxTierRank", max_tier_rank)):
        if rank is not None and not 0 <= rank < tier_count:
            problems.append(Problem(field, f"must be a tier rank from 0 to {tier_count - 1}"))
    if min_tier_rank is not None and max_tier_rank is not None and min_tier_rank > max_tier_rank:
        problems.append(Problem("maxTierRank", "must not be below minTierRank"))
    check_span(starts_at, ends_at, problems)
    if season is not None:
        if starts_at is not None and starts_at.tzinfo and starts_at < season.starts_at:
            problems.append(Problem("startsAt", "must not be before the season starts"))
        if ends_at is not None and ends_at.tzinfo and ends_at > season.ends_at:
            problems.append(Problem("endsAt", "must not be after the season ends"))
    if not 0 <= reward_points <= MAX_REWARD_POINTS:
        problems.append(Problem("rewardPoints", f"must be between 0 and {MAX_REWARD_POINTS}"))
    if not 0 <= reward_growth <= MAX_REWARD_POINTS:
        problems.append(Problem("rewardGrowth", f"must be between 0 and {MAX_REWARD_POINTS}"))
    if reward_badge_known is False:
        problems.append(Problem("rewardBadge", "is not a badge"))
    return problems
