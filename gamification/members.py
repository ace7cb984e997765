"""Rules for enrolling a member."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from gamification.shared.problems import Problem

MAX_DISPLAY_NAME_LENGTH = 80
MAX_EXTERNAL_ID_LENGTH = 128
OLDEST_BIRTHDAY = date(1900, 1, 1)
# A brand's back end and our clock may disagree a little; more than this is a mistake.
JOINED_AT_CLOCK_SKEW = timedelta(minutes=5)


def check_enrollment(
    *,
    external_id: str,
    display_name: str,
    birthday: date | None,
    joined_at: datetime | None,
    now: datetime,
    today: date,
) -> list[Problem]:
    """Everything wrong with an enrollment, in field order (empty when it may proceed).

    ``today`` is the programme-local date, which decides whether a birthday is in the future.
    """
    problems: list[Problem] = []
    if not external_id.strip():
        problems.append(Problem("externalId", "must not be empty"))
    elif len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        problems.append(
            Problem("externalId", f"must be at most {MAX_EXTERNAL_ID_LENGTH} characters")
        )
    elif external_id != external_id.strip():
        problems.append(Problem("externalId", "must not start or end with spaces"))
    name = display_name.strip()
    if not name:
        problems.append(Problem("displayName", "must not be empty"))
    elif len(name) > MAX_DISPLAY_NAME_LENGTH:
        problems.append(
            Problem("displayName", f"must be at most {MAX_DISPLAY_NAME_LENGTH} characters")
        )
    elif any(not ch.isprintable() for ch in name):
        problems.append(Problem("displayName", "must not contain control characters"))
    if birthday is not None:
        if birthday > today:
            problems.append(Problem("birthday", "must not be in the future"))
        elif birthday < OLDEST_BIRTHDAY:
            problems.append(Problem("birthday", f"must not be before {OLDEST_BIRTHDAY}"))
    if joined_at is not None:
        if joined_at.tzinfo is None:
            problems.append(Problem("joinedAt", "must include a time zone offset"))
        elif joined_at > now + JOINED_AT_CLOCK_SKEW:
            problems.append(Problem("joinedAt", "must not be in the future"))
    return problems
