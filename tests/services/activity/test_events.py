"""Recording events through the service: exactly once, atomically, on both backends."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from app.models import (
    Event,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    TaskCompletion,
    Tier,
    TierChange,
)
from app.services.points.ledger import balance_mismatches
from app.services.shared.errors import IdempotencyConflict, InvalidInput, NotFound
from gamification.shared.calendar import Window, local_day
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.factories import ZONE, event

pytestmark = pytest.mark.usefixtures("orm")

# 2026-11-25 10:00 in Shanghai (02:00 UTC): a fixed "now" for calendar-sensitive tests,
# which pin the test's clock to it so the ladder and the member date from it too.
NOON = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)


async def test_a_check_in_earns_its_base_points_and_a_first_active_day():
    member = await factories.member()

    recorded = await event(member, "check_in")

    assert recorded.outcome["points"] == 5  # the seeded check-in is worth 5
    assert recorded.outcome["growth"] == 10  # first activity of the day
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.growth) == (5, 10)
    assert await balance_mismatches() == []


async def test_points_are_multiplied_by_the_tier_multiplier():
    member = await factories.member()
    gold = await Tier.get(code="gold")
    await Member.filter(id=member.id).update(tier_id=gold.id)

    recorded = await event(member, "purchase", amount="100.00")

    assert recorded.outcome["points"] == 125  # 100 x 1.25, rounded down
    assert recorded.outcome["growth"] == 100 + 10  # spend + active day


async def test_the_same_key_twice_replays_the_first_outcome_and_changes_nothing():
    member = await factories.member()
    at = factories.now()
    first = await event(member, "purchase", amount="50", key="order-1", at=at)

    again = await event(member, "purchase", amount="50", key="order-1", at=at)

    assert again.duplicate and not first.duplicate
    assert again.outcome == first.outcome
    assert (await Member.get(id=member.id)).points_balance == 50
    assert await Event.all().count() == 1


async def test_the_same_key_with_another_payload_is_a_conflict():
    member = await factories.member()
    at = factories.now()
    await event(member, "purchase", amount="50", key="order-2", at=at)

    with pytest.raises(IdempotencyConflict):
        await event(member, "purchase", amount="51", key="order-2", at=at)
    assert (await Member.get(id=member.id)).points_balance == 50


async def test_unknown_types_and_members_are_refused():
    member = await factories.member()
    with pytest.raises(NotFound, match="EventType"):
        await event(member, "teleport")
    with pytest.raises(NotFound, match="Member"):
        await factories.record_event(
            external_member_id="nobody",
            type="check_in",
            occurred_at=factories.now(),
            idempotency_key="x",
            policy=factories.POLICY,
            now=factories.now(),
        )
    assert await Event.all().count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "100000000"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"at": "future"}, "occurredAt"),
        ({"at": "before-joining"}, "occurredAt"),
        ({"key": " "}, "idempotencyKey"),
        ({"attributes": {"blob": "x" * 5000}}, "attributes"),
    ],
)
async def test_invalid_events_write_nothing(kwargs, field):
    member = await factories.member(joined_at=factories.now() - timedelta(days=3))
    if kwargs.get("at") == "future":
        kwargs["at"] = factories.now() + timedelta(minutes=6)
    elif kwargs.get("at") == "before-joining":
        kwargs["at"] = factories.now() - timedelta(days=4)
    with pytest.raises(InvalidInput) as refused:
        await event(member, "purchase", **kwargs)
    assert [p.field for p in refused.value.problems] == [field]
    assert await Event.all().count() == 0
    assert await PointsLedgerEntry.all().count() == 0


async def test_a_dry_run_returns_the_outcome_and_writes_nothing():
    member = await factories.member()
    await factories.task(event_type="purchase", condition=Condition.SUM, target=100)

    preview = await event(member, "purchase", amount="120", key="try-1", dry_run=True)
    real = await event(member, "purchase", amount="120", key="try-1")

    assert preview.dry_run and not preview.duplicate
    assert preview.outcome == real.outcome
    assert [t["points"] for t in real.outcome["tasksCompleted"]] == [10]
    assert await Event.all().count() == 1


async def test_a_count_task_completes_once_and_pays_its_reward():
    member = await factories.member()
    task = await factories.task(
        code="share-3",
        condition=Condition.COUNT,
        target=3,
        event_type="share",
        reward_points=30,
        reward_growth=5,
    )

    outcomes = [(await event(member, "share")).outcome for _ in range(5)]

    completed = [o["tasksCompleted"] for o in outcomes]
    assert completed == [
        [],
        [],
        [{"code": "share-3", "name": task.name, "points": 30, "growth": 25}],
        [],
        [],
    ]
    assert await TaskCompletion.filter(member_id=member.id).count() == 1
    member_now = await Member.get(id=member.id)
    assert member_now.points_balance == 5 * 2 + 30
    assert await balance_mismatches() == []


async def test_a_daily_task_completes_once_per_local_day(clock):
    clock.set(NOON)
    member = await factories.member(joined_at=NOON - timedelta(days=10))
    await factories.task(code="daily", window=Window.DAY, reward_points=1)
    # 23:59 and 00:01 Shanghai time fall on two local days, though 2 minutes apart.
    late = datetime(2026, 11, 24, 23, 59, tzinfo=ZONE)
    early = datetime(2026, 11, 25, 0, 1, tzinfo=ZONE)

    results = [
        (await event(member, at=at, now=NOON)).outcome["tasksCompleted"]
        for at in (late, late + timedelta(seconds=30), early)
    ]

    assert [len(r) for r in results] == [1, 0, 1]


async def test_a_streak_task_needs_consecutive_local_days_and_a_gap_resets_it(clock):
    clock.set(NOON)
    member = await factories.member(joined_at=NOON - timedelta(days=30))
    await factories.task(
        code="streak-3",
        condition=Condition.STREAK,
        target=3,
        per_window_limit=None,
        reward_points=50,
    )
    day = timedelta(days=1)
    start = datetime(2026, 11, 10, 23, 30, tzinfo=ZONE)
    days = [start, start + day, start + 3 * day, start + 4 * day, start + 5 * day]

    done = [len((await event(member, at=at, now=NOON)).outcome["tasksCompleted"]) for at in days]

    # Day 3 is missed: the streak restarts and completes on the third consecutive day.
    assert done == [0, 0, 0, 0, 1]


async def test_a_weekly_sum_task_counts_within_the_local_week(clock):
    clock.set(NOON)
    member = await factories.member(joined_at=NOON - timedelta(days=30))
    await factories.task(
        code="spend-500",
        event_type="purchase",
        condition=Condition.SUM,
        target=500,
        window=Window.WEEK,
        reward_points=200,
    )
    sunday_night = datetime(2026, 11, 22, 23, 0, tzinfo=ZONE)  # week 47 ends
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)  # week 48 starts

    a = await event(member, "purchase", amount="300", at=sunday_night, now=NOON)
    b = await event(member, "purchase", amount="300", at=monday, now=NOON)
    c = await event(member, "purchase", amount="200", at=monday + timedelta(days=2), now=NOON)

    assert [len(x.outcome["tasksCompleted"]) for x in (a, b, c)] == [0, 0, 1]


async def test_a_badge_and_a_promotion_in_the_same_transaction():
    await factories.ladder(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
            TierRule(
                "silver",
                "Silver",
                1,
                100,
                80,
                Decimal("1.10"),
                benefits=("Free shipping", "Birthday gift"),
            ),
            TierRule("gold", "Gold", 2, 150, 120, Decimal("1.25")),
        )
    )
    member = await factories.member()
    await factories.badge(code="first-task", name="First task")
    await factories.task(
        code="big",
        event_type="purchase",
        condition=Condition.SUM,
        target=100,
        reward_points=0,
        reward_growth=0,
    )

    recorded = await event(member, "purchase", amount="200")

    # 200 spend + 10 active day + 20 task completed = 230 growth: past Silver and Gold.
    assert recorded.outcome["tierChange"] == {"from": "member", "to": "gold"}
    assert recorded.outcome["badgesEarned"] == [
        {"code": "first-task", "name": "First task", "level": 1}
    ]
    stored = await Member.get(id=member.id).prefetch_related("tier")
    assert stored.tier.code == "gold"
    change = await TierChange.filter(member_id=member.id).order_by("-id").first()
    assert change.reason == "promotion"
    assert await MemberBadge.filter(member_id=member.id).count() == 1
    kinds = await Notification.filter(member_id=member.id).values_list("kind", flat=True)
    assert sorted(kinds) == ["badge_earned", "task_completed", "tier_up"]
    assert await OutboxMessage.filter(topic="event.recorded").count() == 1


async def test_100_concurrent_identical_events_award_once():
    member = await factories.member()
    at = factories.now()

    results = await asyncio.gather(
        *(event(member, "purchase", amount="10", key="same", at=at) for _ in range(100))
    )

    assert sum(not r.duplicate for r in results) == 1
    assert (await Member.get(id=member.id)).points_balance == 10
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 1


async def test_200_concurrent_distinct_events_lose_no_points():
    member = await factories.member()

    await asyncio.gather(*(event(member, "purchase", amount="3") for _ in range(200)))

    stored = await Member.get(id=member.id)
    assert stored.points_balance == 600
    assert await balance_mismatches() == []


async def test_a_monthly_task_restarts_at_local_month_start(clock):
    clock.set(NOON)
    member = await factories.member(joined_at=NOON - timedelta(days=60))
    await factories.task(code="reviews", event_type="review", target=2, window=Window.MONTH)
    # 31 October 23:30 in Shanghai is still October there, though 15:30 UTC.
    october = datetime(2026, 10, 31, 23, 30, tzinfo=ZONE)
    november = datetime(2026, 11, 1, 0, 30, tzinfo=ZONE)

    first = await event(member, "review", at=october, now=NOON)
    second = await event(member, "review", at=november, now=NOON)
    third = await event(member, "review", at=november + timedelta(days=3), now=NOON)

    assert [len(x.outcome["tasksCompleted"]) for x in (first, second, third)] == [0, 0, 1]


async def test_a_day_on_record_without_its_streak_fact_is_not_counted_twice():
    # Given a member whose active day today is on record, with no activity-streak fact
    # beside it (as a bulk load or the demo writes active days)
    member = await factories.member()
    today = local_day(factories.now(), zone=ZONE)
    await MemberActiveDay.create(member_id=member.id, day=today)
    assert not await MemberFact.filter(member_id=member.id).exists()

    # When the member checks in today
    recorded = await event(member, "check_in")

    # Then the check-in is recorded, and the day's growth is not given a second time
    assert not recorded.duplicate
    assert recorded.outcome["points"] == 5
    assert recorded.outcome["growth"] == 0
    assert await MemberActiveDay.filter(member_id=member.id).count() == 1


async def test_a_dry_run_leaves_the_day_unclaimed():
    # Given a member with no activity yet
    member = await factories.member()

    # When a dry run of a check-in is followed by the real one
    trial = await event(member, "check_in", dry_run=True)
    real = await event(member, "check_in")

    # Then both say the day is the first one, and the day is on record once
    assert trial.outcome["growth"] == real.outcome["growth"] == 10
    assert await MemberActiveDay.filter(member_id=member.id).count() == 1
