"""Properties of the pure achievement engine, driven through an in-memory member.

``Simulator`` applies each :class:`~gamification.activity.engine.Outcome` the way the service does
(``_apply`` and ``_write`` in ``app/services/activity/events.py``): progress rows keyed by (task id,
window key) are replaced, facts are overwritten, completions so far come from the
``task:<code>`` facts, held badges are the highest level per badge, growth, balance and
lifetime points add up, a promotion moves the tier and a key seen before is a no-op.
No database: every test here runs the engine alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gamification.activity.engine import (
    STREAK_CURRENT,
    STREAK_LAST_DAY,
    Event,
    EventTypeRule,
    GrowthWeights,
    LedgerLine,
    MemberSnapshot,
    Outcome,
    process_event,
)
from gamification.badges import BadgeMetric, BadgeRule
from gamification.shared.calendar import Season, Window, local_day, window_for
from gamification.tasks import Condition, TaskProgress, TaskRule
from gamification.tiers.ladder import TierRule, validate_ladder

CHECK_IN = EventTypeRule("check_in", "Check-in", base_points=5)
PURCHASE = EventTypeRule("purchase", "Purchase", points_per_unit=Decimal(1), counts_as_spend=True)
REFERRAL = EventTypeRule("referral", "Referral", counts_as_referral=True)
EVENT_TYPES = {rule.code: rule for rule in (CHECK_IN, PURCHASE, REFERRAL)}
WEIGHTS = GrowthWeights()
ZONES = (ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"))
# Starts of the ~60 days events fall in: New York's spring DST switch and a month end;
# its autumn switch; a year end whose last days belong to the next ISO year's week 1.
ANCHORS = (
    datetime(2024, 2, 20, 3, tzinfo=UTC),
    datetime(2024, 10, 10, 3, tzinfo=UTC),
    datetime(2024, 12, 5, 3, tzinfo=UTC),
)
SPAN_DAYS = 60
REWARD_ONLY_BADGE = "medal"  # a badge with no thresholds, only ever given by a task
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


# --- the in-memory member ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """An event as a back-end service sends it: with its idempotency key."""

    key: str
    event: Event


@dataclass(frozen=True, slots=True)
class Scenario:
    ladder: tuple[TierRule, ...]
    tasks: tuple[TaskRule, ...]
    badges: tuple[BadgeRule, ...]
    sends: tuple[Sent, ...]
    zone: ZoneInfo
    now: datetime
    growth_window: timedelta


@dataclass(frozen=True, slots=True)
class Step:
    """One event through the simulator: the member's tier and growth before it, and the
    outcome (``None`` when the key had been seen and the event was replayed)."""

    sent: Sent
    tier_rank_before: int
    growth_before: int
    outcome: Outcome | None


@dataclass
class Simulator:
    scenario: Scenario
    tier_rank: int = 0
    growth: int = 0
    balance: int = 0
    lifetime_points: int = 0
    progress: dict[tuple[int, str], TaskProgress] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    awards: list[tuple[str, int]] = field(default_factory=list)
    active_days: set[date] = field(default_factory=set)
    ledger: list[LedgerLine] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    steps: list[Step] = field(default_factory=list)

    def inputs(self, event: Event, *, first_event_of_day: bool) -> dict[str, Any]:
        """What the service reads for ``event`` and hands to ``process_event``."""
        sc = self.scenario
        keys = {
            span.key
            for task in sc.tasks
            if (
                span := window_for(task.window, event.occurred_at, zone=sc.zone, season=task.season)
            )
        }
        current = sc.ladder[self.tier_rank]
        return {
            "event": event,
            "event_type": EVENT_TYPES[event.type],
            "member": MemberSnapshot(self.tier_rank, self.growth, self.lifetime_points),
            "ladder": sc.ladder,
            "weights": WEIGHTS,
            # Every task, not only this event's type: the engine must pick its own.
            "tasks": sc.tasks,
            "progress": {k: v for k, v in self.progress.items() if k[1] in keys},
            "completions_so_far": {t.id: self.facts.get(f"task:{t.code}", 0) for t in sc.tasks},
            "facts": dict(self.facts),
            "badges": sc.badges,
            "held_badges": {b.code: self.held.get(b.code, 0) for b in sc.badges},
            "first_event_of_day": first_event_of_day,
            "multiplier": current.multiplier,
            "zone": sc.zone,
            "now": sc.now,
            "growth_window": sc.growth_window,
        }

    def record(self, sent: Sent) -> Outcome | None:
        rank, growth = self.tier_rank, self.growth
        if sent.key in self.seen:
            outcome = None  # the service returns the stored outcome and changes nothing
        else:
            self.seen.add(sent.key)
            day = local_day(sent.event.occurred_at, zone=self.scenario.zone)
            first = day not in self.active_days
            self.active_days.add(day)
            outcome = process_event(**self.inputs(sent.event, first_event_of_day=first))
            self.apply(outcome)
        self.steps.append(Step(sent, rank, growth, outcome))
        return outcome

    def apply(self, outcome: Outcome) -> None:
        self.balance += outcome.points
        self.lifetime_points += outcome.points
        self.growth += outcome.growth
        self.ledger.extend(outcome.ledger)
        for state in outcome.progress:
            self.progress[(state.task_id, state.window_key)] = state
        self.facts.update(outcome.facts)
        for award in outcome.badges:
            self.held[award.badge.code] = max(self.held.get(award.badge.code, 0), award.level)
            self.awards.append((award.badge.code, award.level))
        if outcome.promotion is not None:
            self.tier_rank = outcome.promotion.to_tier.rank

    def run(self) -> Simulator:
        for sent in self.scenario.sends:
            self.record(sent)
        return self

    def state(self) -> tuple[Any, ...]:
        """Everything the service would have stored, for comparing two members."""
        return (
            self.tier_rank,
            self.growth,
            self.balance,
            self.lifetime_points,
            dict(self.progress),
            dict(self.facts),
            dict(self.held),
            tuple(self.awards),
            frozenset(self.active_days),
            tuple(self.ledger),
            frozenset(self.seen),
        )

    def processed(self) -> list[tuple[Step, Outcome]]:
        return [(s, s.outcome) for s in self.steps if s.outcome is not None]


def simulate(scenario: Scenario) -> Simulator:
    return Simulator(scenario).run()


# --- strategies -------------------------------------------------------------------------

REQUIREMENTS: tuple[tuple[tuple[str, int], ...], ...] = (
    (),
    (("events:purchase", 1),),
    (("events:purchase", 2),),
    (("events:referral", 1),),
    (("tasks_completed", 1),),
)
MULTIPLIERS = tuple(Decimal(m) for m in ("1", "1.1", "1.25", "1.5", "2"))
TARGETS = {
    Condition.COUNT: st.integers(1, 4),
    Condition.SUM: st.integers(1, 1500),
    Condition.STREAK: st.integers(1, 4),
    Condition.DISTINCT_DAYS: st.integers(1, 4),
}
BADGE_SCALE = {
    BadgeMetric.TASKS_COMPLETED: 12,
    BadgeMetric.TASK_COMPLETED: 5,
    BadgeMetric.STREAK_DAYS: 5,
    BadgeMetric.TIER_REACHED: 3,
    BadgeMetric.LIFETIME_POINTS: 3000,
    BadgeMetric.EVENTS: 10,
}


@st.composite
def ladders(draw: st.DrawFn) -> tuple[TierRule, ...]:
    tiers = [TierRule("t0", "Tier 0", 0, 0, 0, Decimal(1))]
    entry = 0
    for rank in range(1, draw(st.integers(3, 4))):
        lower = entry
        entry += draw(st.integers(1, 600))
        tiers.append(
            TierRule(
                code=f"t{rank}",
                name=f"Tier {rank}",
                rank=rank,
                entry_threshold=entry,
                retention_threshold=draw(st.integers(lower, entry)),
                multiplier=draw(st.sampled_from(MULTIPLIERS)),
                requirements=draw(st.sampled_from(REQUIREMENTS)),
                benefits=(f"Perk {rank}",),
            )
        )
    return validate_ladder(tiers)


def _sometimes(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    """A value one time in four, else ``None``: most tasks are open to all, all the time."""
    return draw(values) if draw(st.integers(0, 3)) == 0 else None


def _instants(start: datetime) -> st.SearchStrategy[datetime]:
    return st.integers(0, SPAN_DAYS * 24).map(lambda h: start + timedelta(hours=h))


@st.composite
def task_lists(draw: st.DrawFn, *, start: datetime, tiers: int) -> tuple[TaskRule, ...]:
    season = Season(
        7,
        start + timedelta(hours=draw(st.integers(0, 45 * 24))),
        start + timedelta(hours=draw(st.integers(46 * 24, 80 * 24))),
    )
    # Every window at least once, every condition at least once, then a few more.
    windows = [Window.DAY, Window.WEEK, Window.MONTH, Window.LIFETIME, Window.SEASON]
    windows += draw(st.lists(st.sampled_from(Window), max_size=3))
    conditions = list(draw(st.permutations(list(Condition))))
    conditions += draw(
        st.lists(st.sampled_from(Condition), min_size=len(windows) - 4, max_size=len(windows) - 4)
    )
    tier_rank = st.integers(0, tiers - 1)
    tasks = []
    for n, (window, condition) in enumerate(zip(windows, conditions, strict=True), start=1):
        tasks.append(
            TaskRule(
                id=n,
                code=f"task{n}",
                name=f"Task {n}",
                event_type=draw(st.sampled_from(sorted(EVENT_TYPES))),
                condition=condition,
                target=draw(TARGETS[condition]),
                window=window,
                per_window_limit=draw(st.none() | st.integers(1, 2)),
                cap=draw(st.none() | st.integers(1, 3)),
                min_tier_rank=_sometimes(draw, tier_rank),
                max_tier_rank=_sometimes(draw, tier_rank),
                starts_at=_sometimes(draw, _instants(start)),
                ends_at=_sometimes(draw, _instants(start)),
                season=season
                if window is Window.SEASON
                else draw(st.sampled_from((None, None, season))),
                reward_points=draw(st.integers(0, 50)),
                reward_growth=draw(st.integers(0, 50)),
                reward_badge=draw(st.sampled_from((None, None, REWARD_ONLY_BADGE, "b0", "b1"))),
            )
        )
    return tuple(tasks)


@st.composite
def badge_lists(draw: st.DrawFn, *, task_codes: list[str]) -> tuple[BadgeRule, ...]:
    badges = [BadgeRule(REWARD_ONLY_BADGE, "Medal", BadgeMetric.TASKS_COMPLETED, ())]
    for n in range(draw(st.integers(2, 6))):
        metric = draw(st.sampled_from(BadgeMetric))
        subject = None
        if metric is BadgeMetric.TASK_COMPLETED:
            subject = draw(st.sampled_from(task_codes))
        elif metric is BadgeMetric.EVENTS:
            subject = draw(st.sampled_from(sorted(EVENT_TYPES)))
        levels = draw(st.sets(st.integers(1, BADGE_SCALE[metric]), min_size=1, max_size=3))
        badges.append(BadgeRule(f"b{n}", f"Badge {n}", metric, tuple(sorted(levels)), subject))
    return tuple(badges)


@st.composite
def send_lists(draw: st.DrawFn, *, start: datetime) -> tuple[Sent, ...]:
    spread = draw(st.sampled_from((3, 10, SPAN_DAYS)))  # a short spread makes streaks
    events = draw(
        st.lists(
            st.builds(
                Event,
                type=st.sampled_from(sorted(EVENT_TYPES)),
                occurred_at=st.builds(
                    lambda d, m: start + timedelta(days=d, minutes=m),
                    st.integers(0, spread - 1),
                    st.integers(0, 24 * 60 - 1),
                ),
                amount=st.decimals(min_value=0, max_value=1000, places=2),
            ),
            min_size=3,
            max_size=30,
        )
    )
    if draw(st.booleans()):  # in time order; otherwise as drawn, i.e. back-filled too
        events.sort(key=lambda e: e.occurred_at)
    sends = [Sent(f"e{n}", event) for n, event in enumerate(events)]
    # Retries: the same event with the same key again, somewhere after the first one.
    for _ in range(draw(st.integers(0, 4))):
        original = draw(st.integers(0, len(events) - 1))
        first = next(i for i, s in enumerate(sends) if s.key == f"e{original}")
        sends.insert(draw(st.integers(first + 1, len(sends))), sends[first])
    return tuple(sends)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    start = draw(st.sampled_from(ANCHORS))
    ladder = draw(ladders())
    tasks = draw(task_lists(start=start, tiers=len(ladder)))
    return Scenario(
        ladder=ladder,
        tasks=tasks,
        badges=draw(badge_lists(task_codes=[t.code for t in tasks])),
        sends=draw(send_lists(start=start)),
        zone=draw(st.sampled_from(ZONES)),
        now=start + timedelta(days=SPAN_DAYS + 1),
        growth_window=draw(st.sampled_from((timedelta(days=365), timedelta(days=30)))),
    )


# --- properties -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_events_only_earn_and_the_ledger_always_sums_to_the_balance(scenario: Scenario):
    # given a member with no history
    member = Simulator(scenario)

    for sent in scenario.sends:
        # when one more event arrives
        outcome = member.record(sent)

        # then every line it writes is a credit, and the ledger still explains the balance
        if outcome is not None:
            assert all(line.delta > 0 for line in outcome.ledger)
            assert outcome.points == sum(line.delta for line in outcome.ledger)
        assert sum(line.delta for line in member.ledger) == member.balance


@PROPERTY_SETTINGS
@given(scenarios())
def test_growth_never_decreases_through_events(scenario: Scenario):
    # given / when
    member = simulate(scenario)

    # then
    growth = [step.growth_before for step in member.steps] + [member.growth]
    assert growth == sorted(growth)
    assert all(outcome.growth >= 0 for _, outcome in member.processed())


@PROPERTY_SETTINGS
@given(scenarios())
def test_tiers_only_go_up_and_a_promotion_is_earned_and_immediate(scenario: Scenario):
    # given a member with no history
    member = Simulator(scenario)

    for sent in scenario.sends:
        rank_before = member.tier_rank

        # when one more event arrives
        outcome = member.record(sent)

        # then the tier never drops
        assert member.tier_rank >= rank_before
        if outcome is None:
            assert member.tier_rank == rank_before
            continue
        promotion = outcome.promotion
        if promotion is not None:
            # and a promotion starts from where the member was, goes up, and is earned
            assert promotion.from_tier.rank == rank_before < promotion.to_tier.rank
            assert promotion.to_tier.entry_threshold <= member.growth
            assert promotion.to_tier.requirements_met(member.facts)
            assert member.facts["tier_reached"] >= promotion.to_tier.rank
        else:
            assert member.tier_rank == rank_before
        # and it is immediate: no higher tier is left within reach after the event
        assert not [
            tier
            for tier in scenario.ladder
            if tier.rank > member.tier_rank
            and tier.entry_threshold <= member.growth
            and tier.requirements_met(member.facts)
        ]


@PROPERTY_SETTINGS
@given(scenarios())
def test_tasks_complete_within_cap_and_window_limit_on_their_own_events_only(
    scenario: Scenario,
):
    # given / when
    member = simulate(scenario)

    # then every completion is for an event the task counts, when and where it applies
    tasks = {task.id: task for task in scenario.tasks}
    in_total: Counter[int] = Counter()
    in_window: Counter[tuple[int, str]] = Counter()
    for step, outcome in member.processed():
        event = step.sent.event
        for completion in outcome.completions:
            task = tasks[completion.task.id]  # judged by the rule as defined
            assert completion.task == task
            assert task.event_type == event.type
            assert task.is_scheduled_at(event.occurred_at)
            assert task.admits_tier(step.tier_rank_before)
            span = window_for(
                task.window, event.occurred_at, zone=scenario.zone, season=task.season
            )
            assert span is not None and completion.window_key == span.key
            if task.season is not None:
                assert task.season.starts_at <= event.occurred_at < task.season.ends_at
            in_total[task.id] += 1
            in_window[(task.id, completion.window_key)] += 1
        assert len({c.task.id for c in outcome.completions}) == len(outcome.completions)

    # and no task completes more often than its cap, nor than its limit within one window
    for task_id, times in in_total.items():
        cap = tasks[task_id].cap
        assert cap is None or times <= cap
    for (task_id, _), times in in_window.items():
        limit = tasks[task_id].per_window_limit
        assert limit is None or times <= limit
    # and the facts the cap is read from agree with what happened
    for task in scenario.tasks:
        assert member.facts.get(f"task:{task.code}", 0) == in_total[task.id]
    assert member.facts.get("tasks_completed", 0) == in_total.total()


@PROPERTY_SETTINGS
@given(scenarios())
def test_replayed_keys_change_nothing_and_processing_is_deterministic(scenario: Scenario):
    # given a member who has been sent every event, retries included
    member = simulate(scenario)
    after_first_run = member.state()

    # when the whole sequence is sent again with the same keys
    replays = [member.record(sent) for sent in scenario.sends]

    # then nothing happens at all
    assert replays == [None] * len(scenario.sends)
    assert member.state() == after_first_run

    # and the retries in the first run changed nothing either: the same member results
    # from sending every event exactly once
    once: list[Sent] = []
    for sent in scenario.sends:
        if sent.key not in {s.key for s in once}:
            once.append(sent)
    without_retries = Simulator(scenario)
    for sent in once:
        without_retries.record(sent)
    assert without_retries.state() == after_first_run

    # and the engine is deterministic: a second member given the same events decides
    # the same outcomes, and the same inputs twice give equal outcomes
    twin = simulate(scenario)
    assert [s.outcome for s in twin.steps] == [s.outcome for s in member.steps[: len(twin.steps)]]
    probe = Simulator(scenario)
    for sent in once:
        inputs = probe.inputs(sent.event, first_event_of_day=True)
        assert process_event(**inputs) == process_event(**inputs)
        probe.record(sent)


def _levels(badge: BadgeRule, tasks: tuple[TaskRule, ...]) -> int:
    """How many levels a badge has: its thresholds, or one when a task can give it."""
    rewarded = any(task.reward_badge == badge.code for task in tasks)
    return max(len(badge.thresholds), 1 if rewarded else 0)


@PROPERTY_SETTINGS
@given(scenarios())
def test_badge_levels_stay_within_their_thresholds_and_are_awarded_once(scenario: Scenario):
    # given a member with no history
    member = Simulator(scenario)

    for sent in scenario.sends:
        # when one more event arrives
        member.record(sent)

        # then every badge whose criterion holds is held at that level already
        for badge in scenario.badges:
            held = member.held.get(badge.code, 0)
            assert held >= badge.level_for(member.facts.get(badge.key, 0))
            assert held <= _levels(badge, scenario.tasks)

    # and each (badge, level) was awarded once, levels one by one from the first
    assert len(set(member.awards)) == len(member.awards)
    for badge in scenario.badges:
        levels = [level for code, level in member.awards if code == badge.code]
        assert levels == list(range(1, member.held.get(badge.code, 0) + 1))


@PROPERTY_SETTINGS
@given(scenarios())
def test_lifetime_points_are_the_sum_of_the_ledger(scenario: Scenario):
    # given a member with no history
    member = Simulator(scenario)

    for sent in scenario.sends:
        # when one more event arrives
        member.record(sent)

        # then lifetime points, and the fact badges read them from, match the ledger
        assert member.lifetime_points == sum(line.delta for line in member.ledger)
        assert member.facts.get("lifetime_points", 0) == member.lifetime_points


def _longest_run(days: set[date]) -> int:
    return max((n for n in range(1, len(days) + 1) if _runs_of(days, n)), default=0)


def _runs_of(days: set[date], n: int) -> bool:
    return any(all(d + timedelta(days=k) in days for k in range(n)) for d in days)


@PROPERTY_SETTINGS
@given(scenarios())
def test_the_activity_streak_follows_consecutive_active_days(scenario: Scenario):
    # given a member with no history
    member = Simulator(scenario)

    for sent in scenario.sends:
        day = local_day(sent.event.occurred_at, zone=scenario.zone)
        last = member.facts.get(STREAK_LAST_DAY)
        if sent.key not in member.seen and (last is None or day.toordinal() >= last):
            # then the service's shortcut (no query unless back-filled) agrees with the
            # member's active days on whether this is the first event of its day
            assert (last is None or day.toordinal() > last) == (day not in member.active_days)

        # when one more event arrives
        member.record(sent)

        # then the longest streak never claims more than the active days hold
        assert member.facts.get("streak_days", 0) <= _longest_run(member.active_days)
        assert member.facts.get(STREAK_CURRENT, 0) <= member.facts.get("streak_days", 0)

    # and when events arrive in time order it is exactly the longest run of active days
    times = [s.event.occurred_at for s in scenario.sends]
    if times == sorted(times):
        assert member.facts.get("streak_days", 0) == _longest_run(member.active_days)


# --- examples ---------------------------------------------------------------------------

SHANGHAI = ZONES[0]
BASE = TierRule("member", "Member", 0, 0, 0, Decimal(1))


def _scenario(
    *,
    tasks: tuple[TaskRule, ...] = (),
    badges: tuple[BadgeRule, ...] = (),
    ladder: tuple[TierRule, ...] = (BASE,),
    events: list[Event],
) -> Scenario:
    return Scenario(
        ladder=validate_ladder(ladder),
        tasks=tasks,
        badges=badges,
        sends=tuple(Sent(f"e{n}", event) for n, event in enumerate(events)),
        zone=SHANGHAI,
        now=max(e.occurred_at for e in events) + timedelta(days=1),
        growth_window=timedelta(days=365),
    )


def _check_in(day: int) -> Event:
    # 10:00 in Shanghai on consecutive local days from 1 March 2024
    return Event("check_in", datetime(2024, 3, 1, 2, tzinfo=UTC) + timedelta(days=day))


def test_a_task_reward_badge_is_held_at_level_one_though_it_has_no_thresholds():
    # given a task whose reward is a badge with no thresholds of its own
    medal = BadgeRule(REWARD_ONLY_BADGE, "Medal", BadgeMetric.TASKS_COMPLETED, ())
    task = TaskRule(1, "first", "First check-in", "check_in", Condition.COUNT, 1)
    scenario = _scenario(
        tasks=(replace(task, reward_badge=REWARD_ONLY_BADGE),),
        badges=(medal,),
        events=[_check_in(0)],
    )

    # when the task completes
    member = simulate(scenario)

    # then the badge is held at level 1, one more than its thresholds would ever give
    assert member.awards == [(REWARD_ONLY_BADGE, 1)]
    assert medal.level_for(member.facts["tasks_completed"]) == 0


def test_a_late_check_in_cannot_fill_the_gap_in_a_streak():
    # given a 3-day streak task and check-ins on days 0 and 2, then a back-filled day 1
    task = TaskRule(
        1, "streak-3", "Streak of 3", "check_in", Condition.STREAK, 3, per_window_limit=None
    )
    scenario = _scenario(tasks=(task,), events=[_check_in(0), _check_in(2), _check_in(1)])

    # when they are recorded in arrival order
    member = simulate(scenario)

    # then day 1 arrives too late to join days 0 and 2 into a streak (days only move
    # forward), though it still earns its points and its active day
    assert [len(s.outcome.completions) for s in member.steps if s.outcome] == [0, 0, 0]
    assert member.progress[(1, "lifetime")].streak == 1
    assert member.balance == 15
    assert member.growth == 3 * WEIGHTS.active_day


def test_a_promotion_can_pass_over_a_tier_whose_requirements_are_not_met():
    # given Silver needs a referral and Gold only growth, and one purchase crosses both
    silver = TierRule("silver", "Silver", 1, 100, 100, Decimal(1), (("events:referral", 1),))
    gold = TierRule("gold", "Gold", 2, 200, 200, Decimal(1))
    purchase = Event("purchase", datetime(2024, 3, 1, 2, tzinfo=UTC), Decimal("250.00"))
    scenario = _scenario(ladder=(BASE, silver, gold), events=[purchase])

    # when it is recorded
    member = simulate(scenario)

    # then the member lands in Gold, never having qualified for Silver
    promotion = member.steps[0].outcome.promotion
    assert promotion is not None and promotion.to_tier.code == "gold"
    assert not silver.requirements_met(member.facts)


def test_streak_days_counts_the_whole_run_of_consecutive_days():
    # given the demo programme's repeatable 7-day check-in streak and its Streaker badge
    streak = TaskRule(
        1,
        "check-in-streak-7",
        "Check in 7 days in a row",
        "check_in",
        Condition.STREAK,
        7,
        per_window_limit=None,
        reward_points=100,
        reward_growth=50,
    )
    streaker = BadgeRule("streaker", "Streaker", BadgeMetric.STREAK_DAYS, (3, 7, 30))
    scenario = _scenario(
        tasks=(streak,), badges=(streaker,), events=[_check_in(day) for day in range(30)]
    )

    # when the member checks in on 30 consecutive local days
    member = simulate(scenario)

    # then the longest streak is the whole run of 30 days, although the task restarted its
    # own count at each of its 4 completions, and the gold level is earned
    assert member.facts["task:check-in-streak-7"] == 4
    assert member.facts["streak_days"] == 30
    assert member.held["streaker"] == 3
