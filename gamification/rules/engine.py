"""Earning rules: what a valid rule is, and which rules one event earns, and why.

A rule (one version of it) names an event type, a condition (see
:mod:`gamification.rules.conditions`), an effect, its stacking (a priority and an optional
exclusive group) and its budgets. :func:`evaluate_rules` takes the compiled rules of one
event type and tells, for one event, what each rule awards or why it is skipped.

Rounding: each rule's points are rounded down on their own (a fraction of a point is never
awarded, and never carried to another rule or event).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from gamification.activity.attributes import AttributeSpec, AttributeType, as_number
from gamification.rules.conditions import Predicate, Subject, check_condition, compile_condition
from gamification.shared.calendar import Window
from gamification.shared.catalogue import check_code, check_span, check_text
from gamification.shared.problems import Problem

MAX_RULE_POINTS = 1_000_000
MAX_RATE = Decimal(1000)
MAX_MULTIPLIER = Decimal(10)
MAX_PRIORITY = 1000
MAX_GROUP_LENGTH = 32
NO_CAP = 2**62  # what a budget row compares with when a dimension has no cap


class GroupPick(StrEnum):
    """Which rule of an exclusive group applies when several of its rules match."""

    BEST = "best"  # the one awarding the most points (priority breaks ties)
    FIRST = "first"  # the one of highest priority


class SkipReason(StrEnum):
    NOT_RUNNING = "not_running"  # before its start or after its end
    CONDITION_NOT_MET = "condition_not_met"
    NOTHING_EARNED = "nothing_earned"  # matched, but its effect is worth nothing here
    EXCLUDED_BY_GROUP = "excluded_by_group"  # another rule of its exclusive group applied
    MEMBER_CAP_REACHED = "member_cap_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"


@dataclass(frozen=True, slots=True)
class Effect:
    """What a rule awards; its parts add up."""

    points: int = 0  # fixed points
    per_unit_of: str | None = None  # "amount", a number or money attribute, or line items
    per_unit_rate: Decimal = Decimal(0)  # points per unit of it
    multiplier: Decimal | None = None  # the event's own points times this (the extra part)
    growth: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "perUnitOf": self.per_unit_of,
            "perUnitRate": str(self.per_unit_rate),
            "multiplier": None if self.multiplier is None else str(self.multiplier),
            "growth": self.growth,
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> Effect:
        multiplier = stored.get("multiplier")
        return cls(
            points=int(stored.get("points", 0)),
            per_unit_of=stored.get("perUnitOf"),
            per_unit_rate=Decimal(str(stored.get("perUnitRate", "0"))),
            multiplier=None if multiplier is None else Decimal(str(multiplier)),
            growth=int(stored.get("growth", 0)),
        )


@dataclass(frozen=True, slots=True)
class Budget:
    """Caps of a rule: for the whole campaign, and per member per period (None: no cap)."""

    campaign_points: int | None = None
    campaign_awards: int | None = None
    member_points: int | None = None
    member_awards: int | None = None
    member_period: Window = Window.LIFETIME

    @property
    def campaign_capped(self) -> bool:
        return self.campaign_points is not None or self.campaign_awards is not None

    @property
    def member_capped(self) -> bool:
        return self.member_points is not None or self.member_awards is not None


@dataclass(frozen=True, slots=True)
class EarningRule:
    """One version of a rule, compiled: what the event path evaluates."""

    id: int
    code: str
    name: str
    version: int
    event_type: str
    condition: Predicate
    effect: Effect
    priority: int = 0
    group: str | None = None
    pick: GroupPick = GroupPick.BEST
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    budget: Budget = field(default_factory=Budget)

    def is_running_at(self, at: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )


def compile_rule(
    *,
    id: int,
    code: str,
    name: str,
    version: int,
    event_type: str,
    condition: Mapping[str, Any] | None,
    effect: Effect,
    priority: int = 0,
    group: str | None = None,
    pick: GroupPick = GroupPick.BEST,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    budget: Budget | None = None,
) -> EarningRule:
    return EarningRule(
        id=id,
        code=code,
        name=name,
        version=version,
        event_type=event_type,
        condition=compile_condition(condition),
        effect=effect,
        priority=priority,
        group=group,
        pick=pick,
        starts_at=starts_at,
        ends_at=ends_at,
        budget=budget or Budget(),
    )


def stacking_order(rules: Sequence[EarningRule]) -> tuple[EarningRule, ...]:
    """The order rules are considered in: highest priority first, then oldest rule."""
    return tuple(sorted(rules, key=lambda r: (-r.priority, r.id)))


# --- checking a rule -----------------------------------------------------------------------


def check_rule(
    *,
    code: str,
    name: str,
    condition: Any,
    effect: Effect,
    schema: Sequence[AttributeSpec] | None,
    priority: int,
    group: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    budget: Budget,
) -> list[Problem]:
    """Everything wrong with a rule's definition, in field order."""
    problems: list[Problem] = []
    check_code(code, problems)
    check_text("name", name, 100, problems)
    if condition is not None:
        problems += check_condition(condition, schema=schema)
    problems += check_effect(effect, schema=schema)
    if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        problems.append(Problem("priority", f"must be between -{MAX_PRIORITY} and {MAX_PRIORITY}"))
    if group is not None and not (0 < len(group.strip()) <= MAX_GROUP_LENGTH):
        problems.append(Problem("exclusiveGroup", f"must be 1-{MAX_GROUP_LENGTH} characters"))
    check_span(starts_at, ends_at, problems)
    for name_, value in (
        ("budget.campaignPoints", budget.campaign_points),
        ("budget.campaignAwards", budget.campaign_awards),
        ("budget.memberPoints", budget.member_points),
        ("budget.memberAwards", budget.member_awards),
    ):
        if value is not None and not 1 <= value < NO_CAP:
            problems.append(Problem(name_, "must be at least 1"))
    if budget.member_period is Window.SEASON:
        problems.append(Problem("budget.memberPeriod", "must be DAY, WEEK, MONTH or LIFETIME"))
    return problems


def check_effect(effect: Effect, *, schema: Sequence[AttributeSpec] | None) -> list[Problem]:
    problems: list[Problem] = []
    if not 0 <= effect.points <= MAX_RULE_POINTS:
        problems.append(Problem("effect.points", f"must be between 0 and {MAX_RULE_POINTS}"))
    if effect.per_unit_of is not None:
        if not _countable(effect.per_unit_of, schema):
            problems.append(
                Problem(
                    "effect.perUnitOf", "must be amount, or a number, money or line items attribute"
                )
            )
        if not effect.per_unit_rate.is_finite() or not 0 < effect.per_unit_rate <= MAX_RATE:
            problems.append(
                Problem("effect.perUnitRate", f"must be above 0 and at most {MAX_RATE}")
            )
    elif effect.per_unit_rate:
        problems.append(Problem("effect.perUnitOf", "is required with a perUnitRate"))
    if effect.multiplier is not None and (
        not effect.multiplier.is_finite() or not 1 < effect.multiplier <= MAX_MULTIPLIER
    ):
        problems.append(
            Problem("effect.multiplier", f"must be above 1 and at most {MAX_MULTIPLIER}")
        )
    if not 0 <= effect.growth <= MAX_RULE_POINTS:
        problems.append(Problem("effect.growth", f"must be between 0 and {MAX_RULE_POINTS}"))
    if not (effect.points or effect.per_unit_of or effect.multiplier or effect.growth):
        problems.append(
            Problem("effect", "must award points, points per unit, a multiplier or growth")
        )
    return problems


def _countable(name: str, schema: Sequence[AttributeSpec] | None) -> bool:
    if name == "amount" or schema is None:
        return True
    spec = next((s for s in schema if s.name == name), None)
    return spec is not None and spec.type in (
        AttributeType.NUMBER,
        AttributeType.MONEY,
        AttributeType.LINE_ITEMS,
    )


# --- evaluating ----------------------------------------------------------------------------


# Named tuples rather than dataclasses: an event makes one per rule, and building a frozen
# dataclass costs several times as much (bench/rules.py).
class RuleAward(NamedTuple):
    rule: EarningRule
    points: int
    growth: int


class RuleSkip(NamedTuple):
    rule: EarningRule
    reason: SkipReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Earning:
    """What the rules of one event decided, in stacking order."""

    awards: tuple[RuleAward, ...] = ()
    skipped: tuple[RuleSkip, ...] = ()

    @property
    def points(self) -> int:
        return sum(a.points for a in self.awards)

    @property
    def growth(self) -> int:
        return sum(a.growth for a in self.awards)


NO_EARNING = Earning()


def worth(rule: EarningRule, subject: Subject, *, event_points: int) -> tuple[int, int]:
    """The (points, growth) a rule's effect is worth for one event; points rounded down."""
    effect = rule.effect
    if effect.per_unit_of is None and effect.multiplier is None:
        return effect.points, effect.growth
    exact = Decimal(effect.points)
    if effect.per_unit_of is not None:
        exact += _units(effect.per_unit_of, subject) * effect.per_unit_rate
    if effect.multiplier is not None:
        exact += event_points * (effect.multiplier - 1)
    return max(0, math.floor(exact)), effect.growth


def _units(of: str, subject: Subject) -> Decimal:
    if of == "amount":
        return subject.amount
    key = ("units", of)
    memo = subject._memo
    found = memo.get(key)
    if found is None:
        value = subject.attributes.get(of)
        if isinstance(value, list):
            found = sum((item.value for item in subject.items(of)), Decimal(0))
        else:
            number = as_number(value)
            found = number if number is not None and number > 0 else Decimal(0)
        memo[key] = found
    return found


def evaluate_rules(
    rules: Sequence[EarningRule],
    *,
    subject: Subject,
    at: datetime,
    event_points: int,
    member_spent: Mapping[int, tuple[int, int]] | None = None,
    exhausted: frozenset[int] = frozenset(),
) -> Earning:
    """Which of ``rules`` (in :func:`stacking_order`) award what for one event, and why the
    others do not.

    ``event_points`` are the points the event earns of itself (what a multiplier rule
    multiplies); ``member_spent`` the member's (points, awards) per rule id in the period of
    each rule's member cap; ``exhausted`` the rules whose campaign budget refused this
    event. A rule skipped for its budget or cap makes room for the next of its group.
    """
    spent = member_spent or {}
    candidates: list[tuple[int, RuleAward]] = []
    skipped: list[tuple[int, RuleSkip]] = []
    groups: dict[str, list[RuleAward]] = {}
    for index, rule in enumerate(rules):
        if (rule.starts_at is not None and at < rule.starts_at) or (
            rule.ends_at is not None and at >= rule.ends_at
        ):
            skipped.append((index, RuleSkip(rule, _NOT_RUNNING)))
            continue
        if not rule.condition(subject):
            skipped.append((index, RuleSkip(rule, _CONDITION_NOT_MET)))
            continue
        points, growth = worth(rule, subject, event_points=event_points)
        if points <= 0 and growth <= 0:
            skipped.append((index, RuleSkip(rule, _NOTHING_EARNED)))
            continue
        if rule.id in exhausted:
            skipped.append((index, RuleSkip(rule, _BUDGET_EXHAUSTED, EXHAUSTED)))
            continue
        budget = rule.budget
        if budget.member_points is not None or budget.member_awards is not None:
            had_points, had_awards = spent.get(rule.id, (0, 0))
            if (
                budget.member_points is not None and had_points + points > budget.member_points
            ) or (budget.member_awards is not None and had_awards + 1 > budget.member_awards):
                detail = f"the member's cap per {budget.member_period.value} is reached"
                skipped.append((index, RuleSkip(rule, _MEMBER_CAP_REACHED, detail)))
                continue
        award = RuleAward(rule, points, growth)
        candidates.append((index, award))
        if rule.group is not None:
            groups.setdefault(rule.group, []).append(award)
    if not groups:
        awards = tuple(award for _, award in candidates)
    else:
        # The pick of the group's first rule (in stacking order) decides how it picks.
        winners = {
            group: max(members, key=_points_of) if members[0].rule.pick is _BEST else members[0]
            for group, members in groups.items()
        }
        kept = []
        for index, award in candidates:
            group = award.rule.group
            if group is None or winners[group] is award:
                kept.append(award)
            else:
                detail = f"{winners[group].rule.code} applied instead (group {group})"
                skipped.append((index, RuleSkip(award.rule, _EXCLUDED_BY_GROUP, detail)))
        awards = tuple(kept)
        skipped.sort(key=_first)
    return Earning(awards=awards, skipped=tuple(skip for _, skip in skipped))


EXHAUSTED = "the offer's budget is spent"


def _points_of(award: RuleAward) -> int:
    return award.points  # max keeps the first of equals: the higher priority


def _first(entry: tuple[int, RuleSkip]) -> int:
    return entry[0]


# Enum members read once: reading one through its class costs a lookup on every event.
_NOT_RUNNING = SkipReason.NOT_RUNNING
_CONDITION_NOT_MET = SkipReason.CONDITION_NOT_MET
_NOTHING_EARNED = SkipReason.NOTHING_EARNED
_BUDGET_EXHAUSTED = SkipReason.BUDGET_EXHAUSTED
_MEMBER_CAP_REACHED = SkipReason.MEMBER_CAP_REACHED
_EXCLUDED_BY_GROUP = SkipReason.EXCLUDED_BY_GROUP
_BEST = GroupPick.BEST
