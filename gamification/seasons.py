"""Seasons: what a valid season definition is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_span,
    check_text,
)
from gamification.shared.problems import Problem


def check_season(
    *, code: str, name: str, starts_at: datetime, ends_at: datetime, description: str
) -> list[Problem]:
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    check_span(starts_at, ends_at, problems)
    return problems


@dataclass(frozen=True, slots=True)
class SeasonBounds:
    starts_at: datetime
    ends_at: datetime
