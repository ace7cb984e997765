"""The achievement engine: one event in, every consequence out, decided in pure Python.

``process_event`` takes a snapshot of what the member has (state, task progress, facts,
badges) and returns an :class:`Outcome`: ledger lines, growth, new task progress,
completions, badges, a promotion and notifications. The service layer applies it in one
transaction, under a per-member lock, so the snapshot cannot go stale in between.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from gamification.activity.attributes import AttributeSpec
from gamification.badges import BadgeMetric, BadgeRule
from gamification.rules.engine import NO_EARNING, Earning
from gamification.shared.calendar import local_day, window_for
from gamification.tasks import (
    TaskProgress,
    TaskRule,
    advance,
    is_met,
    restart_after_completion,
)
from gamification.tiers.ladder import TierRule, promotion_target

DEFAULT_GROWTH_WINDOW = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class EventTypeRule:
    """An entry of the programme's event catalogue and what one event of it is worth."""

    code: str
    name: str
    base_points: int = 0  # flat points per event
    points_per_unit: Decimal = Decimal(0)  # points per unit of amount (e.g. per yuan spent)
    counts_as_spend: bool = False  # its amount is spend for growth
    counts_as_referral: bool = False
    attributes: tuple[AttributeSpec, ...] | None = None  # its attribute schema; None: any
    pending_days: int = 0  # the return window its points wait out before release


@dataclass(frozen=True, slots=True)
class GrowthWeights:
    """How activity turns into growth; part of a ladder version."""

    spend: Decimal = Decimal(1)  # growth per unit of spend
    active_day: int = 10  # the first event of a local day
    task_completed: int = 20
    referral: int = 50


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    occurred_at: datetime
    amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    tier_rank: int
    growth: int
    lifetime_points: int


class LedgerReason(StrEnum):
    EVENT = "event"
    TASK = "task"


@dataclass(frozen=True, slots=True)
class LedgerLine:
    delta: int
    reason: str
    task_id: int | None = None
    rule_id: int | None = None  # the earning rule (and its version) that awarded it
    rule_version: int | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    task: TaskRule
    window_key: str
    points: int
    growth: int
    multiplier: Decimal = Decimal(1)  # points = reward points x this, rounded down


@dataclass(frozen=True, slots=True)
class BadgeAward:
    badge: BadgeRule
    level: int


@dataclass(frozen=True, slots=True)
class Promotion:
    from_tier: TierRule
    to_tier: TierRule


class NoticeKind(StrEnum):
    TASK_COMPLETED = "task_completed"
    BADGE_EARNED = "badge_earned"
    TIER_UP = "tier_up"


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    title: str
    body: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    ledger: tuple[LedgerLine, ...]
    growth: int
    progress: tuple[TaskProgress, ...]  # the new state of every task the event touched
    completions: tuple[Completion, ...]
    badges: tuple[BadgeAward, ...]
    promotion: Promotion | None
    facts: Mapping[str, int]  # new values of the facts that changed
    notices: tuple[Notice, ...]
    # The event's own points before the member's multiplier (tier x season), that
    # multiplier, and what the earning rules decided.
    base_points: Decimal = Decimal(0)
    multiplier: Decimal = Decimal(1)
    earning: Earning = NO_EARNING

    @property
    def points(self) -> int:
        return sum(line.delta for line in self.ledger)


def _points(value: Decimal) -> int:
    """Whole points, rounded down: a member never gets points the rules did not earn."""
    return math.floor(value)


def event_points(event_type: EventTypeRule, *, amount: Decimal, multiplier: Decimal) -> int:
    """What an event earns of itself: its type's flat and per-unit points, times the
    member's multiplier, rounded down."""
    return _points((event_type.base_points + amount * event_type.points_per_unit) * multiplier)


def process_event(
    *,
    event: Event,
    event_type: EventTypeRule,
    member: MemberSnapshot,
    ladder: Sequence[TierRule],
    weights: GrowthWeights,
    tasks: Sequence[TaskRule],
    progress: Mapping[tuple[int, str], TaskProgress],
    completions_so_far: Mapping[int, int],
    facts: Mapping[str, int],
    badges: Sequence[BadgeRule],
    held_badges: Mapping[str, int],
    first_event_of_day: bool,
    multiplier: Decimal,
    zone: ZoneInfo,
    now: datetime,
    growth_window: timedelta = DEFAULT_GROWTH_WINDOW,
    earning: Earning = NO_EARNING,
) -> Outcome:
    """Decide everything one event causes.

    ``multiplier`` is the member's points multiplier (tier, times any seasonal one).
    ``progress`` holds the member's progress keyed by (task id, window key), for the
    windows this event falls in; ``completions_so_far`` the completions per task id.
    ``first_event_of_day`` says whether this is the member's first event on its local day.
    ``earning`` is what the earning rules awarded for the event (each award one ledger
    line naming its rule and version; its growth counts like the event's own).
    """
    if event.type != event_type.code:
        raise ValueError(f"event of type {event.type!r} given the rules of {event_type.code!r}")
    current = next(t for t in ladder if t.rank == member.tier_rank)
    day = local_day(event.occurred_at, zone=zone)
    counts_for_growth = event.occurred_at >= now - growth_window

    ledger: list[LedgerLine] = []
    base = event_points(event_type, amount=event.amount, multiplier=multiplier)
    if base > 0:
        ledger.append(LedgerLine(base, f"{event_type.name}"))
    for award in earning.awards:
        if award.points > 0:
            rule = award.rule
            ledger.append(
                LedgerLine(
                    award.points,
                    f"Rule {rule.name} (v{rule.version})",
                    rule_id=rule.id,
                    rule_version=rule.version,
                )
            )

    growth = 0
    if counts_for_growth:
        if event_type.counts_as_spend:
            growth += _points(event.amount * weights.spend)
        if first_event_of_day:
            growth += weights.active_day
        if event_type.counts_as_referral:
            growth += weights.referral
        growth += earning.growth

    new_facts: dict[str, int] = {}

    def bump(key: str, by: int = 1) -> None:
        new_facts[key] = new_facts.get(key, facts.get(key, 0)) + by

    def raise_to(key: str, value: int) -> None:
        if value > new_facts.get(key, facts.get(key, 0)):
            new_facts[key] = value

    bump(f"events:{event.type}")
    _extend_activity_streak(facts, new_facts, day=day.toordinal())

    touched: list[TaskProgress] = []
    done: list[Completion] = []
    notices: list[Notice] = []
    for task in tasks:
        if task.event_type != event.type or not task.is_scheduled_at(event.occurred_at):
            continue
        if not task.admits_tier(member.tier_rank):
            continue
        if task.cap is not None and completions_so_far.get(task.id, 0) >= task.cap:
            continue
        span = window_for(task.window, event.occurred_at, zone=zone, season=task.season)
        if span is None:
            continue
        state = progress.get((task.id, span.key)) or TaskProgress(task.id, span.key)
        if task.per_window_limit is not None and state.completions >= task.per_window_limit:
            continue
        state = advance(state, amount=event.amount, day=day)
        if is_met(task, state):
            state = restart_after_completion(state)
            points = _points(task.reward_points * multiplier)
            task_growth = (task.reward_growth + weights.task_completed) if counts_for_growth else 0
            growth += task_growth
            if points > 0:
                ledger.append(LedgerLine(points, f"Task completed: {task.name}", task.id))
            done.append(Completion(task, span.key, points, task_growth, multiplier))
            bump(BadgeMetric.TASKS_COMPLETED.value)
            bump(f"task:{task.code}")
            notices.append(
                Notice(
                    NoticeKind.TASK_COMPLETED,
                    f"Task completed: {task.name}",
                    _reward_text(points, task_growth),
                    {"task": task.code, "points": points, "growth": task_growth},
                )
            )
        touched.append(state)

    earned = sum(line.delta for line in ledger)
    raise_to(BadgeMetric.LIFETIME_POINTS.value, member.lifetime_points + earned)

    merged = {**facts, **new_facts}
    target = promotion_target(ladder, current=current, growth=member.growth + growth, facts=merged)
    promotion = Promotion(current, target) if target.rank > current.rank else None
    if promotion is not None:
        raise_to(BadgeMetric.TIER_REACHED.value, target.rank)
        merged = {**facts, **new_facts}
        unlocked = ", ".join(target.benefits) if target.benefits else "no new benefits"
        notices.append(
            Notice(
                NoticeKind.TIER_UP,
                f"Welcome to {target.name}!",
                f"You moved up from {current.name} to {target.name}. Unlocked: {unlocked}.",
                {"from": current.code, "to": target.code, "benefits": list(target.benefits)},
            )
        )

    awards: list[BadgeAward] = []
    task_badges = {c.task.reward_badge for c in done if c.task.reward_badge}
    for badge in badges:
        held = held_badges.get(badge.code, 0)
        level = badge.level_for(merged.get(badge.key, 0))
        if badge.code in task_badges:
            level = max(level, 1)
        for new_level in range(held + 1, level + 1):
            awards.append(BadgeAward(badge, new_level))
        if level > held:
            notices.append(
                Notice(
                    NoticeKind.BADGE_EARNED,
                    f"Badge earned: {badge.name}",
                    f"You earned {badge.name}"
                    + (f" (level {level})" if len(badge.thresholds) > 1 else "")
                    + ".",
                    {"badge": badge.code, "level": level},
                )
            )

    return Outcome(
        ledger=tuple(ledger),
        growth=growth,
        progress=tuple(touched),
        completions=tuple(done),
        badges=tuple(awards),
        promotion=promotion,
        facts=new_facts,
        notices=tuple(notices),
        base_points=event_type.base_points + event.amount * event_type.points_per_unit,
        multiplier=multiplier,
        earning=earning,
    )


# Member facts behind the STREAK_DAYS badge metric: the run of consecutive active local
# days, independent of any task (a streak task restarts its own count when it completes).
STREAK_CURRENT = "activity_streak:current"
STREAK_LAST_DAY = "activity_streak:last_day"  # a date as its proleptic ordinal


def _extend_activity_streak(
    facts: Mapping[str, int], new_facts: dict[str, int], *, day: int
) -> None:
    last = facts.get(STREAK_LAST_DAY, 0)
    if day <= last:  # the same day, or a late event for a day already judged
        return
    current = facts.get(STREAK_CURRENT, 0) + 1 if day == last + 1 else 1
    new_facts[STREAK_LAST_DAY] = day
    new_facts[STREAK_CURRENT] = current
    if current > facts.get(BadgeMetric.STREAK_DAYS.value, 0):
        new_facts[BadgeMetric.STREAK_DAYS.value] = current


def _reward_text(points: int, growth: int) -> str:
    parts = [f"+{points} points"] if points else []
    if growth:
        parts.append(f"+{growth} growth")
    return ", ".join(parts) if parts else "Well done!"
