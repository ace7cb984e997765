"""Rules of the rewards catalogue: what a valid reward is, and who may redeem it when."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gamification.shared.catalogue import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    check_code,
    check_span,
    check_text,
)
from gamification.shared.problems import Problem

MAX_POINTS_COST = 10_000_000
MAX_STOCK = 1_000_000_000
# A year: longer than any return policy.
MAX_CANCEL_WINDOW_HOURS = 24 * 366


def check_reward(
    *,
    code: str,
    name: str,
    description: str,
    points_cost: int,
    stock: int | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    min_tier_rank: int | None,
    max_tier_rank: int | None,
    tier_count: int,
    cancel_window_hours: int | None = None,
) -> list[Problem]:
    """Everything wrong with a reward definition, in field order (empty when it may be saved).

    ``stock`` None means unlimited; 0 is a valid stock (sold out until restocked).
    """
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, MAX_NAME_LENGTH, problems)
    check_text("description", description, MAX_DESCRIPTION_LENGTH, problems)
    if not 1 <= points_cost <= MAX_POINTS_COST:
        problems.append(Problem("pointsCost", f"must be between 1 and {MAX_POINTS_COST}"))
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        problems.append(Problem("stock", f"must be between 0 and {MAX_STOCK} (or null: unlimited)"))
    check_span(starts_at, ends_at, problems)
    for field, rank in (("minTierRank", min_tier_rank), ("maxTierRank", max_tier_rank)):
        if rank is not None and not 0 <= rank < tier_count:
            problems.append(Problem(field, f"must be a tier rank from 0 to {tier_count - 1}"))
    if min_tier_rank is not None and max_tier_rank is not None and min_tier_rank > max_tier_rank:
        problems.append(Problem("maxTierRank", "must not be below minTierRank"))
    if cancel_window_hours is not None and not 0 <= cancel_window_hours <= MAX_CANCEL_WINDOW_HOURS:
        problems.append(
            Problem(
                "cancelWindowHours",
                f"must be between 0 and {MAX_CANCEL_WINDOW_HOURS} (or null: the default)",
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class RewardRule:
    """A reward as the redemption rules read it."""

    code: str
    name: str
    points_cost: int
    active: bool = True
    archived: bool = False
    starts_at: datetime | None = None
    # Exclusive: the reward can no longer be redeemed from then on.
    ends_at: datetime | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None

    def admits_tier(self, rank: int) -> bool:
        low_ok = self.min_tier_rank is None or rank >= self.min_tier_rank
        return low_ok and (self.max_tier_rank is None or rank <= self.max_tier_rank)


class Unavailable(StrEnum):
    """Why a member may not redeem a reward (stock and balance are the database's to say)."""

    WITHDRAWN = "withdrawn"
    NOT_YET = "not_yet"
    ENDED = "ended"
    TIER = "tier"


UNAVAILABLE_MESSAGES = {
    Unavailable.WITHDRAWN: "is not available",
    Unavailable.NOT_YET: "cannot be redeemed yet",
    Unavailable.ENDED: "can no longer be redeemed",
    Unavailable.TIER: "is not offered to your tier",
}


def why_unavailable(reward: RewardRule, *, tier_rank: int, now: datetime) -> Unavailable | None:
    """Why a member on ``tier_rank`` may not redeem ``reward`` at ``now``; None if they may."""
    if reward.archived or not reward.active:
        return Unavailable.WITHDRAWN
    if reward.starts_at is not None and now < reward.starts_at:
        return Unavailable.NOT_YET
    if reward.ends_at is not None and now >= reward.ends_at:
        return Unavailable.ENDED
    if not reward.admits_tier(tier_rank):
        return Unavailable.TIER
    return None


class RedemptionStatus(StrEnum):
    REDEEMED = "redeemed"
    # Refunded: the points went back to the member.
    CANCELLED = "cancelled"


def cancellable_until(*, redeemed_at: datetime, window_hours: int) -> datetime | None:
    """Until when (exclusive) a redemption made at ``redeemed_at`` may be cancelled; None
    when the window is 0 (never)."""
    if window_hours <= 0:
        return None
    return redeemed_at + timedelta(hours=window_hours)


# Coupon code patterns: ``#`` is a digit, ``?`` an upper-case letter, ``*`` either; any other
# character (upper-case letters, digits, ``-``) stands for itself, as in ``SHOE-####-????``.
# Letters that read alike (I, O) and digits 0/1 are left out of the random part.
PATTERN_DIGITS = "23456789"
PATTERN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
PATTERN_SLOTS = {"#": PATTERN_DIGITS, "?": PATTERN_LETTERS, "*": PATTERN_DIGITS + PATTERN_LETTERS}
MAX_COUPON_CODE_LENGTH = 64
MAX_COUPONS_PER_CALL = 100_000
# A pattern must offer this many codes for every one asked for, so that drawing them at
# random stays quick and a code cannot be guessed from the others.
PATTERN_HEADROOM = 100
_LITERAL = re.compile(r"[A-Z0-9-]")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def pattern_size(pattern: str) -> int:
    """How many distinct codes a (valid) pattern can make."""
    size = 1
    for ch in pattern:
        size *= len(PATTERN_SLOTS.get(ch, " "))
    return size


def check_coupon_pattern(pattern: str, count: int) -> list[Problem]:
    """Everything wrong with generating ``count`` codes from ``pattern``."""
    problems: list[Problem] = []
    if not 1 <= len(pattern) <= MAX_COUPON_CODE_LENGTH:
        problems.append(Problem("pattern", f"must be 1 to {MAX_COUPON_CODE_LENGTH} characters"))
    elif bad := sorted(
        {ch for ch in pattern if ch not in PATTERN_SLOTS and not _LITERAL.match(ch)}
    ):
        problems.append(
            Problem(
                "pattern",
                f"may hold # (digit), ? (letter), * (either), A-Z, 0-9 and -; not {''.join(bad)!r}",
            )
        )
    elif sum(ch in PATTERN_SLOTS for ch in pattern) < 4:
        problems.append(Problem("pattern", "needs at least 4 random characters (#, ? or *)"))
    elif 1 <= count <= MAX_COUPONS_PER_CALL and pattern_size(pattern) < count * PATTERN_HEADROOM:
        problems.append(
            Problem(
                "pattern",
                f"makes {pattern_size(pattern)} codes: too few to draw {count} at random "
                f"(add random characters)",
            )
        )
    if not 1 <= count <= MAX_COUPONS_PER_CALL:
        problems.append(Problem("count", f"must be between 1 and {MAX_COUPONS_PER_CALL}"))
    return problems


def coupon_codes(pattern: str, count: int, *, rng: random.Random) -> list[str]:
    """``count`` codes drawn from a valid ``pattern`` (distinct among themselves; the pool
    decides whether they are new)."""
    made: dict[str, None] = {}
    while len(made) < count:
        code = "".join(
            rng.choice(PATTERN_SLOTS[ch]) if ch in PATTERN_SLOTS else ch for ch in pattern
        )
        made[code] = None
    return list(made)


def check_coupon_code(code: str) -> str | None:
    """Why an imported code is refused (None: it may be added). Codes are stored as given."""
    if not _CODE.fullmatch(code):
        return (
            f"must be 1 to {MAX_COUPON_CODE_LENGTH} letters, digits, - or _, starting with a "
            "letter or digit"
        )
    return None
