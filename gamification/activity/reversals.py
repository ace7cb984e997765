"""Returns and cancellations: how much of an event's points and growth to take back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from gamification.shared.problems import Problem


@dataclass(frozen=True, slots=True)
class ReversalShare:
    amount: Decimal
    points: int
    growth: int
    points_not_recovered: int


def plan_reversal(
    *,
    event_amount: Decimal,
    event_points: int,
    event_growth: int,
    reversed_amount: Decimal,
    reversed_points: int,
    reversed_growth: int,
    amount: Decimal | None,
    balance: int,
    growth_now: int,
    allow_debt: bool,
) -> ReversalShare | list[Problem]:
    """What a (partial) reversal takes back, or the problems with the request.

    A partial reversal of ``amount`` takes back the share of the event's points and growth
    that the amount returned so far represents, rounded down per step against the
    cumulative total, so partial reversals add up exactly to a full one. Without debt, no
    more points are taken than the balance holds; the rest is recorded as not recovered.
    """
    remaining = event_amount - reversed_amount
    if amount is None:
        amount = remaining
    elif amount <= 0:
        return [Problem("amount", "must be positive")]
    elif event_amount == 0:
        return [Problem("amount", "this event has no amount: reverse it in full")]
    elif amount > remaining:
        return [Problem("amount", f"must be at most the {remaining} not yet reversed")]
    if remaining <= 0 and (reversed_points >= event_points and reversed_growth >= event_growth):
        return [Problem("idempotencyKey", "the event has been reversed in full already")]
    after = reversed_amount + amount
    if event_amount == 0 or after >= event_amount:
        points_total, growth_total = event_points, event_growth
    else:
        share = after / event_amount
        points_total = math.floor(event_points * share)
        growth_total = math.floor(event_growth * share)
    points = points_total - reversed_points
    # Growth may have aged out of the window since; it never goes below zero.
    growth = min(growth_total - reversed_growth, max(growth_now, 0))
    unrecovered = 0
    if not allow_debt and points > max(balance, 0):
        unrecovered = points - max(balance, 0)
        points -= unrecovered
    return ReversalShare(amount, points, growth, unrecovered)
