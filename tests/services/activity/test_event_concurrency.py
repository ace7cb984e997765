"""Concurrent events through the service, on both backends: one key credits once whoever
sends it, and many events of one member at once end exactly where the same events sent
one by one end.

On SQLite the callers share one process and its one connection; on PostgreSQL
``asyncio.gather`` spreads them over the pool's connections, so their transactions really
overlap in the database.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from app import db
from app.models import (
    Benefit,
    BenefitGrant,
    Event,
    Member,
    MemberActiveDay,
    Notification,
    PointsLedgerEntry,
    TaskCompletion,
    TierBenefit,
    TierChange,
    TierChangeReason,
)
from app.services.activity.events import EventInput, Recorded, record_events
from app.services.activity.reversals import reverse_event
from app.services.points.ledger import award_points
from app.services.rewards.redemptions import redeem_reward
from app.services.shared.errors import IdempotencyConflict
from gamification.badges import BadgeMetric
from gamification.benefits import BenefitKind
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.factories import POLICY, ZONE, event
from tests.services.activity.event_state import ledger_invariants, member_state

pytestmark = pytest.mark.usefixtures("orm")

# A Wednesday morning in Shanghai; the four days before it straddle a week boundary
# (Sunday 22 November is in the week before).
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)


async def test_50_concurrent_identical_events_credit_once(clock):
    # Given a member, and a task that one purchase completes
    clock.set(NOW)
    member = await factories.member(joined_at=NOW - timedelta(days=10))
    await factories.task(
        code="first-buy", name="First buy", event_type="purchase", reward_points=20
    )
    at = NOW - timedelta(minutes=5)
    await _open_connections()

    # When 50 callers send the same purchase under the same key at once
    results = await asyncio.gather(
        *(event(member, "purchase", amount="30", key="order-50", at=at) for _ in range(50))
    )

    # Then one of them recorded it, and every caller got that one outcome
    assert sum(not r.duplicate for r in results) == 1
    first = next(r for r in results if not r.duplicate)
    assert first.outcome["points"] == 30 + 20
    assert [r.outcome for r in results] == [first.outcome] * 50
    assert {r.event_id for r in results} == {first.event_id}
    # And it was credited once: one event, its two ledger rows, one completion, one day
    assert await Event.filter(idempotency_key="order-50").count() == 1
    assert (await Member.get(id=member.id)).points_balance == 50
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 2
    assert await TaskCompletion.filter(member_id=member.id).count() == 1
    assert await MemberActiveDay.filter(member_id=member.id).count() == 1
    assert await ledger_invariants() == []


async def test_one_key_sent_at_once_for_five_members_credits_one_and_refuses_the_others(clock):
    # Given five members
    clock.set(NOW)
    members = [await factories.member(joined_at=NOW - timedelta(days=10)) for _ in range(5)]
    at = NOW - timedelta(minutes=5)
    await _open_connections()

    # When 50 callers send one key at once, ten for each member (their transactions do not
    # queue on one member's lock: the key decides, and the losers' inserts fail and retry)
    sent_for = [members[n % 5] for n in range(50)]
    results = await asyncio.gather(
        *(event(m, "purchase", amount="30", key="shared-key", at=at) for m in sent_for),
        return_exceptions=True,
    )

    # Then one member's event was recorded; its callers got its outcome, the other
    # members' callers an IdempotencyConflict
    recorded = [r for r in results if isinstance(r, Recorded)]
    refused = [r for r in results if isinstance(r, IdempotencyConflict)]
    assert len(recorded) + len(refused) == 50, [r for r in results if isinstance(r, Exception)]
    assert sum(not r.duplicate for r in recorded) == 1
    assert (len(recorded), len(refused)) == (10, 40)
    assert len({r.event_id for r in recorded}) == 1
    assert [r.outcome for r in recorded] == [recorded[0].outcome] * 10
    (stored,) = await Event.filter(idempotency_key="shared-key")
    winner = stored.member_id  # type: ignore[attr-defined]
    assert {m.id for m, r in zip(sent_for, results, strict=True) if isinstance(r, Recorded)} == {
        winner
    }
    for member in members:
        balance = (await Member.get(id=member.id)).points_balance
        assert balance == (30 if member.id == winner else 0)
    assert await PointsLedgerEntry.all().count() == 1
    assert await MemberActiveDay.all().count() == 1
    assert await ledger_invariants() == []


async def _programme_with_tasks_badges_and_a_silver_benefit() -> Benefit:
    """The default ladder (Silver at 1,000 growth, x1.10; Gold at 5,000), tasks of every
    condition and window, badges over them, and a benefit that Silver unlocks."""
    await factories.ladder()
    await factories.task(
        code="share-5",
        name="Share 5",
        event_type="share",
        target=5,
        per_window_limit=None,
        reward_points=10,
    )
    await factories.task(
        code="daily-check-in", name="Daily check-in", window=Window.DAY, reward_points=3
    )
    await factories.task(
        code="check-in-10",
        name="Check in 10 times",
        target=10,
        per_window_limit=None,
        cap=3,
        reward_points=25,
    )
    await factories.task(
        code="spend-100-week",
        name="Spend 100 in a week",
        event_type="purchase",
        condition=Condition.SUM,
        target=100,
        window=Window.WEEK,
        per_window_limit=2,
        reward_points=40,
        reward_growth=15,
    )
    await factories.task(
        code="review-streak",
        name="Review 3 days in a row",
        event_type="review",
        condition=Condition.STREAK,
        target=3,
        per_window_limit=None,
        reward_points=30,
    )
    await factories.badge(
        code="achiever",
        name="Achiever",
        metric=BadgeMetric.TASKS_COMPLETED,
        thresholds=[1, 5, 10, 50],
    )
    await factories.badge(
        code="silver-club", name="Silver club", metric=BadgeMetric.TIER_REACHED, thresholds=[1]
    )
    await factories.badge(
        code="earner",
        name="Earner",
        metric=BadgeMetric.LIFETIME_POINTS,
        thresholds=[1_000, 1_000_000],
    )
    shipping = await Benefit.create(
        code="free-shipping", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    await TierBenefit.create(tier_code="silver", benefit=shipping)
    return shipping


def _activity(n: int) -> tuple[str, str, datetime]:
    """The n-th of 200 events: 80 purchases of 15.00, 60 check-ins, 40 shares and 20
    reviews, spread over today and the three days before."""
    kind = n % 10
    type, amount = (
        ("purchase", "15.00")
        if kind < 4
        else ("check_in", "0")
        if kind < 7
        else ("share", "0")
        if kind < 9
        else ("review", "0")
    )
    at = NOW - timedelta(days=(n // 10) % 4, minutes=1 + n % 50)
    return type, amount, at


async def test_200_concurrent_events_of_one_member_end_as_the_same_events_one_by_one(clock):
    # Given a programme whose tasks, badges and ladder all move with these events, a
    # member, and a twin of that member who will get the same events one by one
    clock.set(NOW)
    shipping = await _programme_with_tasks_badges_and_a_silver_benefit()
    member = await factories.member(joined_at=NOW - timedelta(days=10))
    twin = await factories.member(joined_at=NOW - timedelta(days=10))
    await _open_connections()

    # When 200 different events of the member arrive at once
    results = await asyncio.gather(
        *(
            event(member, type, amount=amount, at=at, key=f"burst-{n}")
            for n, (type, amount, at) in enumerate(map(_activity, range(200)))
        )
    )

    # Then every one was recorded once, and each caller got the outcome stored with it
    assert not any(r.duplicate for r in results)
    stored = await Event.filter(member_id=member.id).order_by("id")
    assert len(stored) == 200
    outcome_of = {e.idempotency_key: e.outcome for e in stored}
    assert [r.outcome for r in results] == [outcome_of[f"burst-{n}"] for n in range(200)]
    # And the balance is the ledger's sum, lifetime points its positive earn rows
    assert await ledger_invariants() == []

    # When the twin gets the same events one by one, in the order they were applied
    # (the events' ids: a member's transactions queue on its row, ids are taken inside)
    replayed = [
        await event(
            twin, e.type, amount=e.amount, at=e.occurred_at, key=f"twin-{e.idempotency_key}"
        )
        for e in stored
    ]

    # Then each event had the outcome it has one by one, and both members end alike:
    # balance, ledger, progress, completions, badges, tier changes, benefits, facts,
    # active days, notifications and board scores
    assert [r.outcome for r in replayed] == [e.outcome for e in stored]
    assert await member_state(member.id, keys=False) == await member_state(twin.id, keys=False)

    # And what does not depend on the order came out as it must
    state = await member_state(member.id)
    assert state["member"]["tier"] == "silver"
    completed = [task for task, *_ in state["completions"]]
    assert completed.count("share-5") == 40 // 5
    assert completed.count("daily-check-in") == 4  # one per local day
    assert completed.count("check-in-10") == 3  # its cap
    assert completed.count("spend-100-week") == 2 + 2  # its limit, in each of two weeks
    assert state["facts"]["tasks_completed"] == len(completed)
    assert len(state["active_days"]) == 4
    assert ("silver-club", 1) in state["badges"]
    # Crossing Silver's line once: one promotion, its benefit granted once, one ceremony
    promotions = await TierChange.filter(member_id=member.id, reason=TierChangeReason.PROMOTION)
    assert len(promotions) == 1
    assert await BenefitGrant.filter(member_id=member.id, benefit_id=shipping.id).count() == 1
    assert await Notification.filter(member_id=member.id, kind="tier_up").count() == 1
    assert state["member"]["growth"] == sum(e.growth for e in stored)
    assert sum(Decimal(e.amount) for e in stored) == Decimal("1200.00")
    assert await ledger_invariants() == []


async def test_overlapping_batches_at_once_record_each_event_once_and_never_deadlock(clock):
    # Given eight members, the programme of tasks and badges, and 240 events of theirs cut
    # into twelve batches of 40 that overlap: each event is in two batches (a back end
    # resending a batch it got no answer for), each batch in its own order, and every
    # batch holds events of most of the members (their locks are taken in id order)
    clock.set(NOW)
    await _programme_with_tasks_badges_and_a_silver_benefit()
    members = [await factories.member(joined_at=NOW - timedelta(days=10)) for _ in range(8)]
    twins = {m.id: await factories.member(joined_at=NOW - timedelta(days=10)) for m in members}
    events = [
        EventInput(type, at, f"ev-{n}", member_id=members[n % 8].id, amount=Decimal(amount))
        for n, (type, amount, at) in enumerate(map(_activity, range(240)))
    ]
    batches = []
    for b in range(12):
        batch = [events[(20 * b + i) % 240] for i in range(40)]
        random.Random(b).shuffle(batch)
        batches.append(batch)
    await _open_connections()

    # When the twelve batches arrive at once
    results = await asyncio.gather(
        *(record_events(batch, policy=POLICY, now=NOW) for batch in batches)
    )

    # Then every item was recorded, each event once, and its two senders got one outcome
    by_key: dict[str, list[Recorded]] = defaultdict(list)
    for batch, answers in zip(batches, results, strict=True):
        for item, answer in zip(batch, answers, strict=True):
            assert isinstance(answer, Recorded), (item, answer)
            by_key[item.idempotency_key].append(answer)
    assert sorted(by_key) == sorted(e.idempotency_key for e in events)
    for key, answers in by_key.items():
        assert sorted(a.duplicate for a in answers) == [False, True], key
        assert answers[0].outcome == answers[1].outcome, key
    assert await Event.all().count() == 240
    assert await ledger_invariants() == []

    # And each member ends where the same events end one by one, in the order applied
    for member in members:
        stored = await Event.filter(member_id=member.id).order_by("id")
        for e in stored:
            await event(
                twins[member.id], e.type, amount=e.amount, at=e.occurred_at, key=f"twin-{e.id}"
            )
        mine = await member_state(member.id, keys=False)
        assert mine == await member_state(twins[member.id].id, keys=False)


async def test_events_awards_redemptions_and_reversals_at_once_keep_the_ledger_exact(clock):
    # Given a member with a welcome award and 20 purchases on record, on a ladder it will
    # not climb (so every event's points are the same in any order), and a reward
    clock.set(NOW)
    await factories.ladder(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
            TierRule("silver", "Silver", 1, 1_000_000, 800_000, Decimal("1.10")),
        )
    )
    member = await factories.member(joined_at=NOW - timedelta(days=10))
    await award_points(
        member_id=member.id,
        amount=1_000,
        reason="Welcome",
        idempotency_key="welcome",
        max_amount=1_000_000,
        now=NOW,
    )
    gift = await factories.reward(points_cost=50, stock=1_000)
    for n in range(20):
        at = NOW - timedelta(hours=2, minutes=n)
        await event(member, "purchase", amount="20", key=f"earlier-{n}", at=at)

    # When 100 new purchases, 20 reversals of the earlier ones, 20 awards and 20
    # redemptions all arrive at once, in a shuffled order
    calls = [
        *(
            event(member, "purchase", amount="10", key=f"new-{n}", at=NOW - timedelta(seconds=n))
            for n in range(100)
        ),
        *(
            reverse_event(
                idempotency_key=f"earlier-{n}",
                reason="Returned",
                allow_debt=False,
                zone=ZONE,
                now=NOW,
            )
            for n in range(20)
        ),
        *(
            award_points(
                member_id=member.id,
                amount=7,
                reason="Bonus",
                idempotency_key=f"bonus-{n}",
                max_amount=1_000_000,
                now=NOW,
            )
            for n in range(20)
        ),
        *(
            redeem_reward(
                member_id=member.id, reward_id=gift.id, idempotency_key=f"gift-{n}", now=NOW
            )
            for n in range(20)
        ),
    ]
    random.Random(7).shuffle(calls)
    await _open_connections()
    await asyncio.gather(*calls)

    # Then the balance is every movement once, each ledger row's balance_after is the
    # running sum of the rows before it, and lifetime points lost only what was reversed
    stored = await Member.get(id=member.id)
    assert stored.points_balance == 1_000 + 20 * 20 + 100 * 10 + 20 * 7 - 20 * 50 - 20 * 20
    assert stored.lifetime_points == 1_000 + 20 * 20 + 100 * 10 + 20 * 7 - 20 * 20
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 1 + 20 + 100 + 3 * 20
    assert await ledger_invariants(lifetime=False) == []


async def test_batches_at_once_that_reuse_each_others_keys_for_other_members_fail_item_by_item(
    clock,
):
    # Given eight members and a batch for each of them, all eight sending the same 40 keys
    # (a back end that reuses keys), each in an order of its own: the batches lock no
    # member in common, so nothing queues them but the keys themselves
    clock.set(NOW)
    members = [await factories.member(joined_at=NOW - timedelta(days=10)) for _ in range(8)]
    await _open_connections()
    at = NOW - timedelta(minutes=5)
    batches = []
    for b, member in enumerate(members):
        batch = [EventInput("check_in", at, f"reused-{i}", member_id=member.id) for i in range(40)]
        random.Random(b).shuffle(batch)
        batches.append(batch)

    # When they all arrive at once
    results = await asyncio.gather(
        *(record_events(batch, policy=POLICY, now=NOW) for batch in batches),
        return_exceptions=True,
    )

    # Then no batch failed as a whole: each key was recorded once, for one member; the
    # items sending it for that member got its outcome, the others an IdempotencyConflict
    assert [r for r in results if isinstance(r, BaseException)] == []
    stored = {e.idempotency_key: e for e in await Event.all()}
    assert len(stored) == 40
    for batch, answers in zip(batches, results, strict=True):
        assert not isinstance(answers, BaseException)
        for item, answer in zip(batch, answers, strict=True):
            owner = stored[item.idempotency_key].member_id  # type: ignore[attr-defined]
            if item.member_id == owner:
                assert isinstance(answer, Recorded) and not answer.duplicate, (item, answer)
            else:
                assert isinstance(answer, IdempotencyConflict), (item, answer)
    assert await ledger_invariants() == []


async def _open_connections() -> None:
    """Have PostgreSQL's pool open all its connections, so that callers gathered next
    start their transactions together instead of waiting for connections one at a time
    (SQLite runs one transaction at a time: nothing to open)."""
    count = getattr(db.connection(), "pool_maxsize", None)
    if count is None:
        return
    barrier = asyncio.Barrier(count)

    async def hold() -> None:
        async with in_transaction():
            await barrier.wait()

    await asyncio.gather(*(hold() for _ in range(count)))
