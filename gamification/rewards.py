"""Rules of the rewards catalogue: what a valid reward is, and who may redeem it when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
