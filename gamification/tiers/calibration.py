"""Threshold calibration: from the real distribution of growth, the entry thresholds that
given shares of active members reach, rounded to numbers people remember.

The distribution is a histogram: (growth value, members with exactly that growth). A
member *qualifies* at a threshold T when their growth is at least T (the ladder's entry
rule). For a target share p the exact threshold is the smallest growth value at which
**at most** p of the active members qualify: the target is never overshot there, and one
growth point lower it would be. The friendly threshold is that value rounded by
:func:`friendly_number` (at most 5% away); rounding may move the share either way, so both
thresholds come with the members and the share that really qualify at them.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, pairwise


class InvalidShares(ValueError):
    """Target shares that break a rule of :func:`check_shares`."""


def check_shares(shares: Sequence[float], *, tiers_above_base: int) -> tuple[float, ...]:
    """Return the shares, or raise :class:`InvalidShares` saying what is wrong.

    Rules: at least one share, at most one per tier above the base tier; each strictly
    between 0 and 1; strictly decreasing (the first is for the lowest tier above the base,
    which more members reach than any tier above it).
    """
    if not shares:
        raise InvalidShares("give at least one target share")
    if len(shares) > tiers_above_base:
        raise InvalidShares(f"at most {tiers_above_base} shares: one per tier above the base tier")
    for share in shares:
        if not (math.isfinite(share) and 0 < share < 1):
            raise InvalidShares("every share must lie strictly between 0 and 1, e.g. 0.4")
    if any(upper >= lower for lower, upper in pairwise(shares)):
        raise InvalidShares("shares must be strictly decreasing, lowest tier first")
    return tuple(shares)


def friendly_number(value: int) -> int:
    """``value`` rounded to a number with one or two significant digits.

    The step is the largest of 1, 2 or 5 times a power of ten that is at most a tenth of
    ``value`` (1 below 20); ``value`` goes to the nearest multiple of the step, halves up.
    So 1,234 becomes 1,200 (step 100), 2,345 becomes 2,400 (step 200), 5,678 becomes 5,500
    (step 500), 87 becomes 85 (step 5), and values below 20 stay as they are. The result
    is never more than 5% (half a step, at most a twentieth of ``value``) away, and the
    rounding keeps order: a larger value never rounds to a smaller number.
    """
    if value < 20:
        return value
    step = 1
    for candidate in _grid_upto(value // 10):
        step = candidate
    return (value + step // 2) // step * step


def _grid_upto(limit: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to ``limit`` inclusive."""
    found: list[int] = []
    power = 1
    while power <= limit:
        found.extend(m * power for m in (1, 2, 5) if m * power <= limit)
        power *= 10
    return found


@dataclass(frozen=True, slots=True)
class ThresholdSuggestion:
    """For one target share: the exact and the friendly threshold, and who qualifies."""

    target_share: float
    # The smallest growth value at which at most target_share of active members qualify.
    threshold: int
    members: int
    share: float
    # ``threshold`` rounded by friendly_number; members and share are those at it.
    friendly_threshold: int
    friendly_members: int
    friendly_share: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """Suggestions for the tiers above the base tier, lowest tier first."""

    active_members: int
    suggestions: tuple[ThresholdSuggestion, ...]


class _Histogram:
    """Members at or above any growth value, by binary search over the sorted values."""

    def __init__(self, histogram: Sequence[tuple[int, int]]) -> None:
        merged: dict[int, int] = {}
        for growth, members in histogram:
            if members < 0:
                raise ValueError("a histogram count cannot be negative")
            merged[growth] = merged.get(growth, 0) + members
        self.values = sorted(merged)
        # at_or_above[i]: members with growth >= values[i].
        self.at_or_above = list(accumulate(merged[v] for v in reversed(self.values)))[::-1]
        self.total = self.at_or_above[0] if self.values else 0

    def qualifying(self, threshold: int) -> int:
        i = bisect_left(self.values, threshold)
        return self.at_or_above[i] if i < len(self.values) else 0

    def threshold_for(self, share: float) -> int:
        """The smallest growth value (at least 1) at which at most ``share`` qualify."""
        # The share as written (0.3 is 3/10, not the binary float just below it).
        allowed = Fraction(repr(share)) * self.total
        # The highest value at or above which more than ``allowed`` members are: one
        # above it, at most ``allowed`` are. Members at or above the lowest value are
        # everyone, more than allowed since share < 1.
        i = len(self.values) - 1
        while self.at_or_above[i] <= allowed:
            i -= 1
        return max(self.values[i] + 1, 1)


def suggest_thresholds(
    *, histogram: Sequence[tuple[int, int]], shares: Sequence[float], tiers_above_base: int
) -> Calibration:
    """Entry thresholds for ``shares`` (checked by :func:`check_shares`) of the members in
    ``histogram`` ((growth, members) pairs, in any order). No members, no suggestions.

    Thresholds are at least 1 (the base tier is entered at 0), and they never decrease as
    the shares decrease; two shares the distribution cannot tell apart (a crowd of members
    on one growth value) get the same threshold, which the shares reached make plain.
    """
    targets = check_shares(shares, tiers_above_base=tiers_above_base)
    counted = _Histogram(histogram)
    if counted.total == 0:
        return Calibration(active_members=0, suggestions=())
    found = []
    for target in targets:
        exact = counted.threshold_for(target)
        friendly = friendly_number(exact)
        members = counted.qualifying(exact)
        friendly_members = counted.qualifying(friendly)
        found.append(
            ThresholdSuggestion(
                target_share=target,
                threshold=exact,
                members=members,
                share=members / counted.total,
                friendly_threshold=friendly,
                friendly_members=friendly_members,
                friendly_share=friendly_members / counted.total,
            )
        )
    return Calibration(active_members=counted.total, suggestions=tuple(found))
