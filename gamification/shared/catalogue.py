"""Rules every catalogue entry follows (seasons, tasks, badges, rewards, benefits, boards):
its code, its name and description, and the order of its start and end."""

from __future__ import annotations

import re
from datetime import datetime

from gamification.shared.problems import Problem

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000


def check_code(code: str, problems: list[Problem]) -> None:
    if not CODE.match(code):
        problems.append(
            Problem("code", "must be 2-64 characters: lowercase letters, digits, - and _")
        )


def check_text(field: str, value: str, limit: int, problems: list[Problem]) -> None:
    if field == "name" and not value.strip():
        problems.append(Problem(field, "must not be empty"))
    elif len(value) > limit:
        problems.append(Problem(field, f"must be at most {limit} characters"))


def check_span(
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
