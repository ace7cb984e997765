"""Badges: levels earned when a member fact reaches a threshold, and what a valid badge is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_text,
)
from gamification.shared.problems import Problem


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


MAX_BADGE_LEVELS = len(LEVEL_NAMES)
MAX_THRESHOLD = 1_000_000_000
# The metrics whose badge names what it counts in ``subject``, and what that names.
SUBJECT_OF = {BadgeMetric.TASK_COMPLETED: "a growth task", BadgeMetric.EVENTS: "an event type"}


def check_badge(
    *,
    code: str,
    name: str,
    description: str,
    metric: BadgeMetric,
    subject: str | None,
    subject_known: bool | None,
    thresholds: Sequence[int],
) -> list[Problem]:
    """Everything wrong with a badge definition, in field order.

    ``subject_known`` says whether ``subject`` names what ``metric`` counts (None when the
    metric takes no subject). Empty ``thresholds`` make a badge only a task can give.
    """
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    needed = SUBJECT_OF.get(metric)
    if needed is None:
        if subject is not None:
            problems.append(Problem("subject", f"must be null for {metric.name}"))
    elif not subject:
        problems.append(Problem("subject", f"{metric.name} needs {needed} code"))
    elif not subject_known:
        problems.append(Problem("subject", f"is not {needed} code"))
    if len(thresholds) > MAX_BADGE_LEVELS:
        problems.append(Problem("thresholds", f"a badge has at most {MAX_BADGE_LEVELS} levels"))
    elif any(not 1 <= t <= MAX_THRESHOLD for t in thresholds):
        problems.append(Problem("thresholds", f"must each be between 1 and {MAX_THRESHOLD}"))
    elif any(b <= a for a, b in pairwise(thresholds)):
        problems.append(Problem("thresholds", "must be strictly ascending"))
    return problems
