"""Rules for enrolling a member and for changing a member's profile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from gamification.activity.engine import STREAK_CURRENT, STREAK_LAST_DAY
from gamification.badges import BadgeMetric
from gamification.shared.problems import Problem
from gamification.tasks import TaskProgress

MAX_DISPLAY_NAME_LENGTH = 80
MAX_EXTERNAL_ID_LENGTH = 128
OLDEST_BIRTHDAY = date(1900, 1, 1)
# A brand's back end and our clock may disagree a little; more than this is a mistake.
JOINED_AT_CLOCK_SKEW = timedelta(minutes=5)
MAX_DEACTIVATION_REASON_LENGTH = 200
# A BCP 47 language tag as apps send it: language, then optional script, region and
# variants (en, fr-CA, zh-Hant-TW, sl-rozaj); private-use and extension subtags are not taken.
_LANGUAGE_TAG = re.compile(
    r"(?P<language>[A-Za-z]{2,3})(?:-(?P<script>[A-Za-z]{4}))?"
    r"(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)"
)


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
    problems += _display_name_problems(display_name)
    if birthday is not None:
        problems += _birthday_problems(birthday, today=today)
    if joined_at is not None:
        if joined_at.tzinfo is None:
            problems.append(Problem("joinedAt", "must include a time zone offset"))
        elif joined_at > now + JOINED_AT_CLOCK_SKEW:
            problems.append(Problem("joinedAt", "must not be in the future"))
    return problems


def _display_name_problems(display_name: str) -> list[Problem]:
    name = display_name.strip()
    if not name:
        return [Problem("displayName", "must not be empty")]
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        return [Problem("displayName", f"must be at most {MAX_DISPLAY_NAME_LENGTH} characters")]
    if any(not ch.isprintable() for ch in name):
        return [Problem("displayName", "must not contain control characters")]
    return []


def _birthday_problems(birthday: date, *, today: date) -> list[Problem]:
    if birthday > today:
        return [Problem("birthday", "must not be in the future")]
    if birthday < OLDEST_BIRTHDAY:
        return [Problem("birthday", f"must not be before {OLDEST_BIRTHDAY}")]
    return []


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def canonical_language_tag(tag: str) -> str | None:
    """``tag`` in the usual case (language lower, script title, region upper), or None when
    it is not a language tag."""
    match = _LANGUAGE_TAG.fullmatch(tag)
    if match is None:
        return None
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [v.lower() for v in match["variants"].split("-") if v]
    return "-".join(parts)


def check_profile(changes: dict[str, object], *, today: date) -> list[Problem]:
    """Everything wrong with a change of a member's profile, in field order (empty when it
    may proceed). ``changes`` holds only the fields being changed, by Python name; None
    clears a field that may be cleared. ``today`` is the programme-local date."""
    problems: list[Problem] = []
    if isinstance(name := changes.get("display_name"), str):
        problems += _display_name_problems(name)
    if isinstance(birthday := changes.get("birthday"), date):
        problems += _birthday_problems(birthday, today=today)
    if isinstance(zone := changes.get("time_zone"), str) and zone not in _zones():
        problems.append(
            Problem(
                "timeZone", "must be an IANA time zone name, e.g. Europe/Paris or America/New_York"
            )
        )
    if isinstance(locale := changes.get("locale"), str) and canonical_language_tag(locale) is None:
        problems.append(
            Problem("locale", "must be a BCP 47 language tag, e.g. en, fr-CA or zh-Hant-TW")
        )
    return problems


def check_deactivation_reason(reason: str) -> list[Problem]:
    """What is wrong with the reason an operator gives for deactivating a member."""
    if not reason.strip():
        return [Problem("reason", "say why the member is deactivated")]
    if len(reason.strip()) > MAX_DEACTIVATION_REASON_LENGTH:
        return [Problem("reason", f"must be at most {MAX_DEACTIVATION_REASON_LENGTH} characters")]
    return []


# Merging two members who are one person: how what each has adds up. Counters add up (events
# of a type, tasks completed, a task's completions, lifetime points); what is a record keeps
# the higher value (the longest streak, the highest tier reached); the running activity
# streak is the one of whichever was active last (the longer, when both were active on
# the same last day).
_HIGHEST_FACTS = frozenset({BadgeMetric.STREAK_DAYS.value, BadgeMetric.TIER_REACHED.value})


def check_merge(*, survivor_id: int, duplicate_id: int) -> list[Problem]:
    """What is wrong with merging ``duplicate_id`` into ``survivor_id`` by their ids alone."""
    if survivor_id == duplicate_id:
        return [Problem("duplicateId", "must be another member than survivorId")]
    return []


def combine_facts(survivor: Mapping[str, int], duplicate: Mapping[str, int]) -> dict[str, int]:
    """The facts of the member that two members merge into."""
    combined = dict(survivor)
    for key, value in duplicate.items():
        if key in (STREAK_CURRENT, STREAK_LAST_DAY):
            continue
        if key in _HIGHEST_FACTS:
            combined[key] = max(combined.get(key, 0), value)
        else:
            combined[key] = combined.get(key, 0) + value
    mine = (survivor.get(STREAK_LAST_DAY, 0), survivor.get(STREAK_CURRENT, 0))
    theirs = (duplicate.get(STREAK_LAST_DAY, 0), duplicate.get(STREAK_CURRENT, 0))
    last_day, current = max(mine, theirs)
    if last_day:
        combined[STREAK_LAST_DAY], combined[STREAK_CURRENT] = last_day, current
    return combined


def combine_progress(survivor: TaskProgress, duplicate: TaskProgress) -> TaskProgress:
    """Progress of two members on one task in one window, as one member's: counts, sums,
    days and completions add up; the streak is the one of whichever was active last."""
    later = max((survivor, duplicate), key=lambda p: (p.last_day or date.min, p.streak))
    return replace(
        survivor,
        count=survivor.count + duplicate.count,
        total=survivor.total + duplicate.total,
        days=survivor.days + duplicate.days,
        streak=later.streak,
        last_day=later.last_day,
        completions=survivor.completions + duplicate.completions,
    )
