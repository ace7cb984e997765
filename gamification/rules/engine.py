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
from typing import Any

from gamification.activity.attributes import AttributeSpec, AttributeType, as_number, line_items
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


@dataclass(frozen=True, slots=True)
class RuleAward:
    rule: EarningRule
    points: int
    growth: int


@dataclass(frozen=True, slots=True)
class RuleSkip:
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
    exact = Decimal(effect.points)
    if effect.per_unit_of is not None:
        exact += _units(effect.per_unit_of, subject) * effect.per_unit_rate
    if effect.multiplier is not None:
        exact += Decimal(event_points) * (effect.multiplier - 1)
    return max(0, math.floor(exact)), effect.growth


def _units(of: str, subject: Subject) -> Decimal:
    if of == "amount":
        return subject.amount
    value = subject.attributes.get(of)
    if isinstance(value, list):
        return sum((item.value for item in line_items(value)), Decimal(0))
    number = as_number(value)
    return number if number is not None and number > 0 else Decimal(0)


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
    candidates: list[RuleAward] = []
    skipped: list[RuleSkip] = []
    for rule in rules:
        if not rule.is_running_at(at):
            skipped.append(RuleSkip(rule, SkipReason.NOT_RUNNING))
            continue
        if not rule.condition(subject):
            skipped.append(RuleSkip(rule, SkipReason.CONDITION_NOT_MET))
            continue
        points, growth = worth(rule, subject, event_points=event_points)
        if points <= 0 and growth <= 0:
            skipped.append(RuleSkip(rule, SkipReason.NOTHING_EARNED))
            continue
        if rule.id in exhausted:
            skipped.append(
                RuleSkip(rule, SkipReason.BUDGET_EXHAUSTED, "the offer's budget is spent")
            )
            continue
        budget = rule.budget
        if budget.member_capped:
            had_points, had_awards = spent.get(rule.id, (0, 0))
            if (
                budget.member_points is not None and had_points + points > budget.member_points
            ) or (budget.member_awards is not None and had_awards + 1 > budget.member_awards):
                skipped.append(
                    RuleSkip(
                        rule,
                        SkipReason.MEMBER_CAP_REACHED,
                        f"the member's cap per {budget.member_period.value} is reached",
                    )
                )
                continue
        candidates.append(RuleAward(rule, points, growth))
    awards: list[RuleAward] = []
    winners: dict[str, RuleAward] = {}
    for award in candidates:
        group = award.rule.group
        if group is None or group in winners:
            continue
        members = [c for c in candidates if c.rule.group == group]
        # The pick of the group's first rule (in stacking order) decides how it picks.
        if award.rule.pick is GroupPick.BEST:
            winners[group] = max(members, key=lambda c: c.points)  # max keeps the first
        else:
            winners[group] = award
    for award in candidates:
        group = award.rule.group
        if group is None or winners[group] is award:
            awards.append(award)
        else:
            skipped.append(
                RuleSkip(
                    award.rule,
                    SkipReason.EXCLUDED_BY_GROUP,
                    f"{winners[group].rule.code} applied instead (group {group})",
                )
            )
    order = {rule.id: n for n, rule in enumerate(rules)}
    skipped.sort(key=lambda s: order[s.rule.id])
    return Earning(awards=tuple(awards), skipped=tuple(skipped))
