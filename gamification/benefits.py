"""Rules of the benefits catalogue: the kinds of benefit, the value each kind carries, and
when a member's grant of a benefit may be used."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_text,
)
from gamification.shared.problems import Problem


class BenefitKind(StrEnum):
    DISCOUNT = "discount"
    POINTS_MULTIPLIER = "points_multiplier"
    FREE_SHIPPING = "free_shipping"
    PRIORITY_SERVICE = "priority_service"
    BIRTHDAY_GIFT = "birthday_gift"
    EXCLUSIVE_EVENT = "exclusive_event"
    COUPON = "coupon"


class GrantSource(StrEnum):
    """Why a member holds a grant; with the source's reference it is granted at most once."""

    TIER = "tier"
    SEASON = "season"
    BIRTHDAY = "birthday"
    MANUAL = "manual"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"


MAX_AMOUNT = 1_000_000
MIN_FACTOR = 1.01
MAX_FACTOR = 10
COUPON_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

Value = dict[str, Any]


def _is_number(value: object) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_percent(value: Value, problems: list[Problem]) -> None:
    percent = value["percent"]
    if not _is_number(percent) or not 1 <= percent <= 100:
        problems.append(Problem("value.percent", "must be a number from 1 to 100"))


def _check_amount(value: Value, problems: list[Problem]) -> None:
    amount = value["amount"]
    if not _is_number(amount) or not 0 < amount <= MAX_AMOUNT:
        problems.append(Problem("value.amount", f"must be a number above 0, at most {MAX_AMOUNT}"))


def _check_one_off(value: Value, problems: list[Problem]) -> None:
    """Exactly one of percent and amount: a discount (or coupon) takes one or the other."""
    given = [k for k in ("percent", "amount") if k in value]
    if len(given) != 1:
        problems.append(Problem("value", "must have exactly one of percent and amount"))
    elif given == ["percent"]:
        _check_percent(value, problems)
    else:
        _check_amount(value, problems)


def _check_factor(value: Value, problems: list[Problem]) -> None:
    factor = value.get("factor", 0)
    if not _is_number(factor) or not MIN_FACTOR <= factor <= MAX_FACTOR:
        problems.append(
            Problem("value.factor", f"must be a number from {MIN_FACTOR} to {MAX_FACTOR}")
        )


def _check_gift(value: Value, problems: list[Problem]) -> None:
    description = value.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append(Problem("value.description", "must say what the gift is"))
    elif len(description) > MAX_DESCRIPTION_LENGTH:
        problems.append(
            Problem("value.description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
        )


def _check_event(value: Value, problems: list[Problem]) -> None:
    name = value.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        problems.append(Problem("value.name", f"must be 1-{MAX_NAME_LENGTH} characters"))
    starts_at = value.get("starts_at")
    try:
        parsed = datetime.fromisoformat(starts_at) if isinstance(starts_at, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.append(
            Problem("value.starts_at", "must be an ISO 8601 date and time with a time zone offset")
        )


def _check_coupon(value: Value, problems: list[Problem]) -> None:
    prefix = value.get("code_prefix")
    if not isinstance(prefix, str) or not COUPON_PREFIX.match(prefix):
        problems.append(
            Problem("value.code_prefix", "must be 1-16 characters: letters, digits, - and _")
        )
    _check_one_off(value, problems)


def _no_fields(value: Value, problems: list[Problem]) -> None:
    pass


# Per kind: the fields its value may have, and the check of those fields.
VALUE_RULES: dict[BenefitKind, tuple[frozenset[str], Callable[[Value, list[Problem]], None]]] = {
    BenefitKind.DISCOUNT: (frozenset({"percent", "amount"}), _check_one_off),
    BenefitKind.POINTS_MULTIPLIER: (frozenset({"factor"}), _check_factor),
    BenefitKind.FREE_SHIPPING: (frozenset(), _no_fields),
    BenefitKind.PRIORITY_SERVICE: (frozenset(), _no_fields),
    BenefitKind.BIRTHDAY_GIFT: (frozenset({"description"}), _check_gift),
    BenefitKind.EXCLUSIVE_EVENT: (frozenset({"name", "starts_at"}), _check_event),
    BenefitKind.COUPON: (frozenset({"code_prefix", "percent", "amount"}), _check_coupon),
}


def check_benefit_value(kind: BenefitKind, value: object) -> list[Problem]:
    """Everything wrong with the value of a benefit of ``kind`` (empty when it is right).

    Problems name the value's field (``value.percent``); fields the kind does not have
    are refused rather than ignored, so a typo is not silently stored.
    """
    if not isinstance(value, dict):
        return [Problem("value", "must be an object")]
    allowed, check = VALUE_RULES[kind]
    problems = [
        Problem(f"value.{key}", f"is not a field of a {kind.value} benefit")
        for key in sorted(set(value) - allowed)
    ]
    check(value, problems)
    return problems


def check_benefit(
    *, code: str, name: str, description: str, kind: BenefitKind, value: object
) -> list[Problem]:
    """Everything wrong with a benefit definition, in field order (empty when it may be saved)."""
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    problems.extend(check_benefit_value(kind, value))
    return problems


class Unusable(StrEnum):
    """Why a grant cannot be used now."""

    USED = "used"
    EXPIRED = "expired"
    NOT_YET = "not_yet"


UNUSABLE_MESSAGES = {
    Unusable.USED: "has already been used",
    Unusable.EXPIRED: "has expired",
    Unusable.NOT_YET: "is not valid yet",
}


def effective_status(
    status: GrantStatus, *, valid_to: datetime | None, now: datetime
) -> GrantStatus:
    """The status a member sees: an active grant past its end is expired, whether or not
    a job has marked it so yet."""
    if status is GrantStatus.ACTIVE and valid_to is not None and now >= valid_to:
        return GrantStatus.EXPIRED
    return status


def why_unusable(
    status: GrantStatus, *, valid_from: datetime, valid_to: datetime | None, now: datetime
) -> Unusable | None:
    """Why a grant cannot be used at ``now`` (``valid_to`` exclusive); None if it can."""
    if status is GrantStatus.USED:
        return Unusable.USED
    if effective_status(status, valid_to=valid_to, now=now) is GrantStatus.EXPIRED:
        return Unusable.EXPIRED
    if now < valid_from:
        return Unusable.NOT_YET
    return None
