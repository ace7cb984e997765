"""The tier ladder: which tier a growth value earns, and what a valid ladder looks like."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

MAX_MULTIPLIER = Decimal("10")


class InvalidLadder(ValueError):
    """A ladder definition breaks one of the rules in :func:`validate_ladder`."""


@dataclass(frozen=True, slots=True)
class TierRule:
    """One rung: reached at ``entry_threshold`` growth, kept down to ``retention_threshold``."""

    code: str
    name: str
    rank: int
    entry_threshold: int
    retention_threshold: int
    multiplier: Decimal
    # Minimum member facts to enter besides growth, e.g. (("events:purchase", 2),).
    requirements: tuple[tuple[str, int], ...] = ()
    # What the tier unlocks, as members read it in the tier-up notification.
    benefits: tuple[str, ...] = ()

    def requirements_met(self, facts: Mapping[str, int]) -> bool:
        return all(facts.get(key, 0) >= minimum for key, minimum in self.requirements)


def validate_ladder(tiers: Sequence[TierRule]) -> tuple[TierRule, ...]:
    """Return the tiers ordered by rank, or raise :class:`InvalidLadder` saying what is wrong.

    Rules: at least one tier; ranks 0..n-1 with no gaps; unique codes and names; the base
    tier (rank 0) is entered and kept at 0; every higher tier needs strictly more growth
    than the one below; a tier's retention threshold lies between the entry threshold of
    the tier below and its own entry threshold (hysteresis without overlapping a lower
    tier); multipliers are positive and at most ``MAX_MULTIPLIER``.
    """
    if not tiers:
        raise InvalidLadder("a ladder needs at least one tier")
    ordered = tuple(sorted(tiers, key=lambda t: t.rank))
    if [t.rank for t in ordered] != list(range(len(ordered))):
        raise InvalidLadder("tier ranks must be 0, 1, 2, ... without gaps or repeats")
    for label, values in (("code", [t.code for t in ordered]), ("name", [t.name for t in ordered])):
        if any(not v.strip() for v in values):
            raise InvalidLadder(f"every tier needs a {label}")
        if len(set(values)) != len(values):
            raise InvalidLadder(f"tier {label}s must be unique")
    base = ordered[0]
    if base.entry_threshold != 0 or base.retention_threshold != 0:
        raise InvalidLadder(f"the base tier {base.name!r} must have entry and retention 0")
    for lower, upper in pairwise(ordered):
        if upper.entry_threshold <= lower.entry_threshold:
            raise InvalidLadder(
                f"{upper.name!r} must need more growth to enter than {lower.name!r}"
            )
        if not lower.entry_threshold <= upper.retention_threshold <= upper.entry_threshold:
            raise InvalidLadder(
                f"{upper.name!r} retention threshold must lie between "
                f"{lower.entry_threshold} and {upper.entry_threshold}"
            )
    for tier in ordered:
        if not Decimal(0) < tier.multiplier <= MAX_MULTIPLIER:
            raise InvalidLadder(
                f"{tier.name!r} multiplier must be above 0 and at most {MAX_MULTIPLIER}"
            )
    return ordered


def tier_for_growth(tiers: Sequence[TierRule], growth: int) -> TierRule:
    """The highest tier whose entry threshold ``growth`` reaches (the base tier at least).

    ``tiers`` must be a validated ladder (see :func:`validate_ladder`).
    """
    reached = tiers[0]
    for tier in tiers:
        if growth >= tier.entry_threshold:
            reached = tier
    return reached


def promotion_target(
    tiers: Sequence[TierRule], *, current: TierRule, growth: int, facts: Mapping[str, int]
) -> TierRule:
    """The tier a member belongs in now: never below ``current`` (events do not demote),
    the highest whose entry threshold and requirements are met, possibly several rungs up."""
    target = current
    for tier in tiers:
        if (
            tier.rank > target.rank
            and growth >= tier.entry_threshold
            and tier.requirements_met(facts)
        ):
            target = tier
    return target


@dataclass(frozen=True, slots=True)
class TierProgress:
    """What a member sees: where they are, what is next and how far it is."""

    current: TierRule
    next: TierRule | None
    growth: int
    growth_needed: int
    percent: float


def tier_progress(tiers: Sequence[TierRule], *, current: TierRule, growth: int) -> TierProgress:
    """Progress from ``current`` towards the next tier up (100% at the top of the ladder)."""
    above = [t for t in tiers if t.rank == current.rank + 1]
    if not above:
        return TierProgress(current, None, growth, 0, 100.0)
    target = above[0]
    span = target.entry_threshold - current.entry_threshold
    done = min(max(growth - current.entry_threshold, 0), span)
    return TierProgress(
        current=current,
        next=target,
        growth=growth,
        growth_needed=max(target.entry_threshold - growth, 0),
        percent=round(100.0 * done / span, 1),
    )


@dataclass(frozen=True, slots=True)
class TierStatus:
    """Everything a member may know about their tier (the transparency rule)."""

    progress: TierProgress
    next_evaluation_at: datetime
    at_risk: bool
    retention_gap: int


def tier_status(
    tiers: Sequence[TierRule],
    *,
    current: TierRule,
    growth: int,
    now: datetime,
    zone: ZoneInfo,
    evaluation_day_of_month: int,
) -> TierStatus:
    """Progress to the next tier, and whether the current one is kept at the next evaluation.

    A tier is at risk when growth is below its retention threshold; the gap is what the
    member still needs before ``next_evaluation_at`` to keep it.
    """
    gap = max(current.retention_threshold - growth, 0)
    return TierStatus(
        progress=tier_progress(tiers, current=current, growth=growth),
        next_evaluation_at=next_evaluation_at(
            now=now, zone=zone, day_of_month=evaluation_day_of_month
        ),
        at_risk=gap > 0,
        retention_gap=gap,
    )


def evaluation_date(year: int, month: int, *, day_of_month: int) -> date:
    """The month's evaluation date: ``day_of_month``, or the month's last day when the
    month is shorter (29, 30 and 31 mean "the last day" in short months)."""
    if not 1 <= day_of_month <= 31:
        raise ValueError("evaluations run on a day of the month from 1 to 31")
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def next_evaluation_date(*, now: datetime, zone: ZoneInfo, day_of_month: int) -> date:
    """The first evaluation date whose local midnight is after ``now``."""
    local = now.astimezone(zone).date()
    day = evaluation_date(local.year, local.month, day_of_month=day_of_month)
    if day <= local:
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        day = evaluation_date(year, month, day_of_month=day_of_month)
    return day


def evaluation_starts_at(day: date, *, zone: ZoneInfo) -> datetime:
    """The instant an evaluation date begins: local midnight, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def next_evaluation_at(*, now: datetime, zone: ZoneInfo, day_of_month: int) -> datetime:
    """The next scheduled evaluation: local midnight of its date (see
    :func:`evaluation_date`), in UTC."""
    day = next_evaluation_date(now=now, zone=zone, day_of_month=day_of_month)
    return evaluation_starts_at(day, zone=zone)
