"""Rules for what marketers define: seasons, growth tasks, badges and event types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from gamification.badges import LEVEL_NAMES, BadgeMetric
from gamification.shared.calendar import Window
from gamification.shared.problems import Problem
from gamification.tasks import Condition

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_REWARD_POINTS = 1_000_000
MAX_TARGET = 1_000_000_000
EVENT_TYPE_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
MAX_EVENT_TYPE_NAME_LENGTH = 64
MAX_BASE_POINTS = 100_000
MAX_POINTS_PER_UNIT = Decimal(1000)
POINTS_PER_UNIT_PLACES = 4
MAX_BADGE_LEVELS = len(LEVEL_NAMES)
MAX_THRESHOLD = 1_000_000_000
# The metrics whose badge names what it counts in ``subject``, and what that names.
SUBJECT_OF = {BadgeMetric.TASK_COMPLETED: "a growth task", BadgeMetric.EVENTS: "an event type"}


def _check_code(code: str, problems: list[Problem]) -> None:
    if not CODE.match(code):
        problems.append(
            Problem("code", "must be 2-64 characters: lowercase letters, digits, - and _")
        )


def _check_text(field: str, value: str, limit: int, problems: list[Problem]) -> None:
    if field == "name" and not value.strip():
        problems.append(Problem(field, "must not be empty"))
    elif len(value) > limit:
        problems.append(Problem(field, f"must be at most {limit} characters"))


def _check_span(
    starts_at: datetime | None,
    ends_at: datetime | None,
    problems: list[Problem],
    *,
    fields: tuple[str, str] = ("startsAt", "endsAt"),
) -> None:
    start_field, end_field = fields
    for field, value in ((start_field, starts_at), (end_field, ends_at)):
        if value is not None and value.tzinfo is None:
            problems.append(Problem(field, "must include a time zone offset"))
    if (
        starts_at is not None
        and ends_at is not None
        and starts_at.tzinfo is not None
        and ends_at.tzinfo is not None
        and ends_at <= starts_at
    ):
        problems.append(Problem(end_field, f"must be after {start_field}"))


def check_season(
    *, code: str, name: str, starts_at: datetime, ends_at: datetime, description: str
) -> list[Problem]:
    problems: list[Problem] = []
    _check_code(code, problems)
    _check_text("name", name, MAX_NAME_LENGTH, problems)
    _check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    _check_span(starts_at, ends_at, problems)
    return problems


@dataclass(frozen=True, slots=True)
class SeasonBounds:
    starts_at: datetime
    ends_at: datetime


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
    _check_code(code, problems)
    _check_text("name", name, MAX_NAME_LENGTH, problems)
    _check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
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
    _check_span(starts_at, ends_at, problems)
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
    _check_code(code, problems)
    _check_text("name", name, MAX_NAME_LENGTH, problems)
    _check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
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


def check_event_type(
    *,
    code: str,
    name: str,
    base_points: int,
    points_per_unit: Decimal,
) -> list[Problem]:
    """Everything wrong with an event catalogue entry, in field order."""
    problems: list[Problem] = []
    if not EVENT_TYPE_CODE.match(code):
        problems.append(
            Problem("code", "must be 2-32 characters: lowercase letters, digits, - and _")
        )
    _check_text("name", name, MAX_EVENT_TYPE_NAME_LENGTH, problems)
    if not 0 <= base_points <= MAX_BASE_POINTS:
        problems.append(Problem("basePoints", f"must be between 0 and {MAX_BASE_POINTS}"))
    if not points_per_unit.is_finite() or not 0 <= points_per_unit <= MAX_POINTS_PER_UNIT:
        problems.append(Problem("pointsPerUnit", f"must be between 0 and {MAX_POINTS_PER_UNIT}"))
    elif points_per_unit != points_per_unit.quantize(Decimal(1).scaleb(-POINTS_PER_UNIT_PLACES)):
        problems.append(
            Problem("pointsPerUnit", f"must have at most {POINTS_PER_UNIT_PLACES} decimal places")
        )
    return problems
