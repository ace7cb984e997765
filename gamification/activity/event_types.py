"""The event catalogue: what a valid event type is."""

from __future__ import annotations

import re
from decimal import Decimal

from gamification.shared.catalogue import check_text
from gamification.shared.problems import Problem

EVENT_TYPE_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
MAX_EVENT_TYPE_NAME_LENGTH = 64
MAX_BASE_POINTS = 100_000
MAX_POINTS_PER_UNIT = Decimal(1000)
POINTS_PER_UNIT_PLACES = 4
# The longest return window an event type's points may wait out.
MAX_PENDING_DAYS = 365


def check_event_type(
    *,
    code: str,
    name: str,
    base_points: int,
    points_per_unit: Decimal,
    pending_days: int = 0,
) -> list[Problem]:
    """Everything wrong with an event catalogue entry, in field order."""
    problems: list[Problem] = []
    if not EVENT_TYPE_CODE.match(code):
        problems.append(
            Problem("code", "must be 2-32 characters: lowercase letters, digits, - and _")
        )
    check_text("name", name, MAX_EVENT_TYPE_NAME_LENGTH, problems)
    if not 0 <= base_points <= MAX_BASE_POINTS:
        problems.append(Problem("basePoints", f"must be between 0 and {MAX_BASE_POINTS}"))
    if not points_per_unit.is_finite() or not 0 <= points_per_unit <= MAX_POINTS_PER_UNIT:
        problems.append(Problem("pointsPerUnit", f"must be between 0 and {MAX_POINTS_PER_UNIT}"))
    elif points_per_unit != points_per_unit.quantize(Decimal(1).scaleb(-POINTS_PER_UNIT_PLACES)):
        problems.append(
            Problem("pointsPerUnit", f"must have at most {POINTS_PER_UNIT_PLACES} decimal places")
        )
    if not 0 <= pending_days <= MAX_PENDING_DAYS:
        problems.append(Problem("pendingDays", f"must be between 0 and {MAX_PENDING_DAYS}"))
    return problems
