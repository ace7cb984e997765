"""Badges: levels earned when a member fact reaches a threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class BadgeMetric(StrEnum):
    TASKS_COMPLETED = "tasks_completed"  # all tasks together
    TASK_COMPLETED = "task_completed"  # one task, named by subject
    STREAK_DAYS = "streak_days"  # the longest run of consecutive active local days
    TIER_REACHED = "tier_reached"  # the highest tier rank ever held
    LIFETIME_POINTS = "lifetime_points"
    EVENTS = "events"  # events of one type, named by subject


LEVEL_NAMES = ("bronze", "silver", "gold", "platinum", "diamond")


def fact_key(metric: BadgeMetric, subject: str | None = None) -> str:
    """Where a metric lives among a member's facts."""
    if metric is BadgeMetric.TASK_COMPLETED:
        return f"task:{subject}"
    if metric is BadgeMetric.EVENTS:
        return f"events:{subject}"
    return metric.value


@dataclass(frozen=True, slots=True)
class BadgeRule:
    code: str
    name: str
    metric: BadgeMetric
    # Thresholds of the levels, ascending: (1,) is a single-level badge, (5, 20, 50) is
    # bronze/silver/gold. A badge with no thresholds is only ever given as a task reward.
    thresholds: tuple[int, ...]
    subject: str | None = None
    hidden: bool = False

    @property
    def key(self) -> str:
        return fact_key(self.metric, self.subject)

    def level_for(self, value: int) -> int:
        """How many levels ``value`` reaches (0 for none)."""
        return sum(value >= t for t in self.thresholds)


@dataclass(frozen=True, slots=True)
class BadgeProgress:
    badge: BadgeRule
    level: int
    value: int
    next_threshold: int | None


def badge_progress(badge: BadgeRule, *, facts: Mapping[str, int], held_level: int) -> BadgeProgress:
    """What a member sees: the level held, the current value, the next threshold."""
    value = facts.get(badge.key, 0)
    level = max(held_level, badge.level_for(value))
    upcoming = badge.thresholds[level] if level < len(badge.thresholds) else None
    return BadgeProgress(badge=badge, level=level, value=value, next_threshold=upcoming)
