"""The periodic tier evaluation: when it runs, who is warned, who drops and by how much.

Promotion happens the moment growth crosses a line (see :mod:`gamification.activity.engine`);
demotion happens only here, once per evaluation date, and gently: members below their
tier's retention threshold are warned some days ahead with exactly what keeps the tier,
and at the evaluation (after an optional grace period) drop by at most one tier, never
below the base tier. Members at or above retention never change.

Plain Python: the service turns :func:`demotion_rules` into set-based SQL, so the rule a
member is judged by here is the rule the database applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gamification.tiers.ladder import (
    TierRule,
    evaluation_date,
    next_evaluation_date,
)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def previous_evaluation_date(*, now: datetime, zone: ZoneInfo, day_of_month: int) -> date:
    """The last evaluation date whose local midnight is at or before ``now``."""
    local = now.astimezone(zone).date()
    for by in (0, -1):
        year, month = _shift(local.year, local.month, by)
        day = evaluation_date(year, month, day_of_month=day_of_month)
        if day <= local:
            return day
    raise AssertionError("unreachable: last month always has an evaluation date")


# How many days after its due day a missed evaluation (no worker ran) is still applied.
# Not more: a programme that starts mid-month must not demote for a date nobody was warned
# about.
CATCH_UP_DAYS = 3


@dataclass(frozen=True, slots=True)
class EvaluationCalendar:
    """What the evaluation job has to do on a local day.

    ``demote_for``: the evaluation applied today, if any: from the day its grace period
    ends, for ``CATCH_UP_DAYS`` more days (each date is applied once however often asked).
    ``warn_for``: the evaluation whose warning period today lies in, and ``deadline``, the
    day it demotes (its date plus the grace period): growth must reach retention before it.
    """

    demote_for: date | None
    warn_for: date | None
    deadline: date | None


def evaluation_calendar(
    *, now: datetime, zone: ZoneInfo, day_of_month: int, warning_days: int, grace_days: int
) -> EvaluationCalendar:
    """Which evaluation to apply and which to warn for at ``now`` (see the class)."""
    today = now.astimezone(zone).date()
    grace = timedelta(grace_days)
    # The latest date whose grace period has ended by today.
    due = previous_evaluation_date(now=now, zone=zone, day_of_month=day_of_month)
    while due + grace > today:
        year, month = _shift(due.year, due.month, -1)
        due = evaluation_date(year, month, day_of_month=day_of_month)
    demote_for = due if today < due + grace + timedelta(1 + CATCH_UP_DAYS) else None
    # The first date not applied yet: one still in its grace period, else the coming one.
    pending = previous_evaluation_date(now=now, zone=zone, day_of_month=day_of_month)
    if pending <= due:
        pending = next_evaluation_date(now=now, zone=zone, day_of_month=day_of_month)
    warn = warning_days > 0 and today >= pending - timedelta(warning_days)
    return EvaluationCalendar(
        demote_for=demote_for,
        warn_for=pending if warn else None,
        deadline=pending + grace if warn else None,
    )


@dataclass(frozen=True, slots=True)
class Demotion:
    """Members holding the tier of rank ``from_rank`` with growth below ``keep_at`` drop to
    ``to_rank`` (always ``from_rank - 1``)."""

    from_rank: int
    to_rank: int
    keep_at: int


def demotion_rules(tiers: Sequence[TierRule]) -> tuple[Demotion, ...]:
    """One rule per tier above the base tier of a validated ladder, lowest first."""
    return tuple(
        Demotion(from_rank=t.rank, to_rank=t.rank - 1, keep_at=t.retention_threshold)
        for t in tiers
        if t.rank > 0
    )


def demotion_target(tiers: Sequence[TierRule], *, current: TierRule, growth: int) -> TierRule:
    """The tier a member holds after an evaluation: one below ``current`` when growth is
    below its retention threshold, ``current`` otherwise."""
    for rule in demotion_rules(tiers):
        if rule.from_rank == current.rank and growth < rule.keep_at:
            return next(t for t in tiers if t.rank == rule.to_rank)
    return current


def retention_gap(tier: TierRule, *, growth: int) -> int:
    """How much growth a member still needs to keep ``tier`` (0: it is kept)."""
    return max(tier.retention_threshold - growth, 0)


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True, slots=True)
class RetentionWarning:
    """The warning a member below retention reads. The body is ``before``, the missing
    growth as digits, then ``after``: the database writes it for many members at once."""

    title: str
    before: str
    after: str

    def body(self, missing: int) -> str:
        return f"{self.before}{missing}{self.after}"


def retention_warning(*, current: TierRule, lower: TierRule, deadline: date) -> RetentionWarning:
    """What keeps ``current``: the missing growth, by when, and what happens otherwise."""
    return RetentionWarning(
        title=f"Keep your {current.name} tier",
        before="Collect ",
        after=(
            f" more growth before {_long_date(deadline)} to keep {current.name} "
            f"({current.retention_threshold} growth keeps it). Otherwise you move down to "
            f"{lower.name} at that evaluation."
        ),
    )


@dataclass(frozen=True, slots=True)
class DemotionNotice:
    title: str
    body: str


def demotion_notice(*, current: TierRule, lower: TierRule, evaluated: date) -> DemotionNotice:
    """What a demoted member reads: where they are now and how to move back up."""
    return DemotionNotice(
        title=f"You are now {lower.name}",
        body=(
            f"Your growth was below the {current.retention_threshold} that keeps "
            f"{current.name} at the evaluation of {_long_date(evaluated)}, so you moved down "
            f"to {lower.name}. Reach {current.entry_threshold} growth to move back up."
        ),
    )
