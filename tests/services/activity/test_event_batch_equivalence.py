"""A batch through ``record_events`` ends exactly where the same events sent one by one
through ``record_event`` end, on a fresh database of each backend: the same per-item
results and the same rows (balances, ledger, progress, completions, badges, tier changes,
benefits, notifications, board scores, outbox)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app import db
from app.config import Settings
from app.models import (
    Benefit,
    BenefitGrant,
    Event,
    Member,
    OutboxMessage,
    Season,
    SeasonalBenefit,
    TierBenefit,
)
from app.services.activity.events import EventInput, Recorded, record_event, record_events
from app.services.shared.errors import ServiceError
from gamification.badges import BadgeMetric
from gamification.benefits import BenefitKind
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.conftest import _fresh_sqlite_copy, _make_settings, _truncate_postgres
from tests.factories import POLICY, ZONE
from tests.services.activity.event_state import comparable, ledger_invariants, member_state

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
MEMBERS = ("ann", "bob", "cat")
LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 300, 250, Decimal("1.10"), benefits=("Free shipping",)),
    TierRule("gold", "Gold", 2, 100_000, 80_000, Decimal("1.25")),
)

FreshDatabase = Callable[[], Awaitable[Settings]]


@pytest.fixture
def fresh_database(
    backend: str, settings: Settings, request: pytest.FixtureRequest, tmp_path: Path
) -> FreshDatabase:
    """Settings on a migrated, empty database of the test's backend: the test's own the
    first time, then the same emptied again (PostgreSQL) or another copy (SQLite)."""
    calls = 0
    template: Path | None = (
        request.getfixturevalue("sqlite_template") if backend == "sqlite" else None
    )

    async def fresh() -> Settings:
        nonlocal calls
        calls += 1
        if calls == 1:
            return settings
        if template is not None:
            path = tmp_path / f"fresh-{calls}.sqlite3"
            _fresh_sqlite_copy(template, path)
            return _make_settings(f"sqlite://{path}")
        await _truncate_postgres(settings.database_url)
        return settings

    return fresh


@asynccontextmanager
async def programme(settings: Settings) -> AsyncIterator[dict[str, Member]]:
    """The ORM on ``settings``' database holding the same programme every time: a ladder
    whose Silver a few purchases reach (with a benefit), tasks that these events complete,
    badges, three members, and one event recorded before the batch."""
    async with db.connect(settings):
        await factories.ladder(tiers=LADDER)
        members = {
            name: await factories.member(
                external_id=name, display_name=name.title(), joined_at=NOW - timedelta(days=10)
            )
            for name in MEMBERS
        }
        await factories.task(
            code="share-3",
            name="Share 3",
            event_type="share",
            target=3,
            per_window_limit=None,
            reward_points=15,
        )
        await factories.task(
            code="daily-check-in", name="Daily check-in", window=Window.DAY, reward_points=3
        )
        await factories.task(
            code="spend-200",
            name="Spend 200 in a week",
            event_type="purchase",
            condition=Condition.SUM,
            target=200,
            window=Window.WEEK,
            reward_points=50,
            reward_growth=30,
        )
        await factories.task(
            code="streak-2",
            name="Two days in a row",
            condition=Condition.STREAK,
            target=2,
            per_window_limit=None,
            reward_points=7,
        )
        await factories.badge(
            code="achiever",
            name="Achiever",
            metric=BadgeMetric.TASKS_COMPLETED,
            thresholds=[1, 3],
        )
        await factories.badge(
            code="silver-club",
            name="Silver club",
            metric=BadgeMetric.TIER_REACHED,
            thresholds=[1],
        )
        shipping = await Benefit.create(
            code="free-shipping", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
        )
        await TierBenefit.create(tier_code="silver", benefit=shipping)
        # A season running now: Silver earns double and gets a coupon; a task of its own
        festival = await Season.create(
            code="festival",
            name="Festival",
            starts_at=NOW - timedelta(days=5),
            ends_at=NOW + timedelta(days=5),
        )
        double = await Benefit.create(
            code="double",
            name="Double points",
            kind=BenefitKind.POINTS_MULTIPLIER,
            value={"factor": 2},
        )
        coupon = await Benefit.create(
            code="festival-coupon",
            name="Festival coupon",
            kind=BenefitKind.COUPON,
            value={"code_prefix": "FEST", "percent": 10},
        )
        await SeasonalBenefit.create(season=festival, benefit=double, tier_codes=["silver"])
        await SeasonalBenefit.create(season=festival, benefit=coupon, tier_codes=["silver"])
        await factories.task(
            code="festival-shares",
            name="Share twice in the festival",
            event_type="share",
            target=2,
            window=Window.SEASON,
            season=festival,
            reward_points=20,
        )
        # A task for Silver and above only, and one with a cap per member
        await factories.task(
            code="silver-check-in",
            name="Silver check-in",
            window=Window.DAY,
            min_tier_rank=1,
            reward_points=9,
        )
        await factories.task(
            code="reviews",
            name="Review",
            event_type="review",
            per_window_limit=None,
            cap=2,
            reward_points=4,
        )
        await factories.event(
            members["cat"], "review", key="earlier-review", at=NOW - timedelta(hours=3), now=NOW
        )
        yield members


def items(members: dict[str, Member]) -> list[EventInput]:
    """Several members' events, interleaved: tasks that complete, a promotion, keys repeated
    within the batch (same payload, other payload, another member), a key recorded before
    the batch, and bad items of every kind."""
    ann, bob, cat = (members[name].id for name in MEMBERS)

    def at(**ago: float) -> datetime:
        return NOW - timedelta(**ago)

    return [
        EventInput("check_in", at(days=2), "ann-ci-1", member_id=ann),
        EventInput("check_in", at(days=1), "ann-ci-2", member_id=ann),  # streak-2 completes
        EventInput("share", at(minutes=60), "ann-sh-1", member_id=ann),
        EventInput("share", at(minutes=50), "ann-sh-2", member_id=ann),
        EventInput("teleport", at(minutes=45), "ann-bad-type", member_id=ann),  # unknown type
        EventInput("share", at(minutes=40), "ann-sh-3", member_id=ann),  # share-3 completes
        EventInput(
            "purchase", at(minutes=30), "bob-p-1", external_member_id="bob", amount=Decimal("150")
        ),
        # The same key and payload again (named by id this time): the first outcome
        EventInput("purchase", at(minutes=30), "bob-p-1", member_id=bob, amount=Decimal("150")),
        EventInput("purchase", at(minutes=25), "bob-p-2", member_id=bob, amount=Decimal("-1")),
        # spend-200 completes and Bob crosses Silver's 300: 270 spend + 10 + 50 growth
        EventInput("purchase", at(minutes=20), "bob-p-3", member_id=bob, amount=Decimal("120")),
        # The same key with another amount: a conflict for this item only
        EventInput("purchase", at(minutes=20), "bob-p-3", member_id=bob, amount=Decimal("121")),
        EventInput("check_in", at(minutes=15), "ghost-1", member_id=999_999),
        EventInput("check_in", at(minutes=15), "ghost-2", external_member_id="nobody"),
        EventInput("check_in", at(minutes=10), "bob-ci", member_id=bob),  # at Silver's x1.10
        EventInput("review", at(hours=3), "earlier-review", member_id=cat),  # recorded before
        EventInput("review", at(hours=2), "earlier-review", member_id=cat),  # ...another payload
        EventInput("check_in", at(minutes=8), "both-refs", member_id=cat, external_member_id="cat"),
        EventInput("share", at(minutes=6), "ann-sh-1", member_id=cat),  # Ann's key, Cat's event
        EventInput("check_in", at(minutes=-6), "cat-future", member_id=cat),  # 6 minutes ahead
        EventInput("check_in", at(minutes=5), "cat-ci-1", external_member_id="cat"),
        EventInput("check_in", at(minutes=4), "cat-ci-2", member_id=cat),  # the day's second
        EventInput("share", at(minutes=3), "ann-sh-4", member_id=ann),
        # A key first sent for nobody, then for a member: the second is recorded
        EventInput("check_in", at(minutes=2), "retry-after-bad", member_id=999_999),
        EventInput("check_in", at(minutes=2), "retry-after-bad", member_id=cat),
        # A refused item claims no day: the next event of that day is its first
        EventInput("review", at(days=2), "bob-p-1", member_id=cat),
        EventInput("review", at(days=2, minutes=-1), "cat-rv-1", member_id=cat),
        # After the promotion: Silver's audience, the season's x2 and its task
        EventInput("share", at(minutes=2), "bob-sh-1", member_id=bob),
        EventInput("share", at(minutes=1), "bob-sh-2", member_id=bob),
        # The capped task: two completions, then no more
        EventInput("review", at(minutes=1), "cat-rv-2", member_id=cat),
        EventInput("review", at(minutes=1), "cat-rv-3", member_id=cat),
    ]


async def one_by_one(inputs: list[EventInput]) -> list[Recorded | ServiceError]:
    results: list[Recorded | ServiceError] = []
    for item in inputs:
        try:
            results.append(
                await record_event(
                    member_id=item.member_id,
                    external_member_id=item.external_member_id,
                    type=item.type,
                    occurred_at=item.occurred_at,
                    amount=item.amount,
                    attributes=item.attributes,
                    idempotency_key=item.idempotency_key,
                    policy=POLICY,
                    now=NOW,
                )
            )
        except ServiceError as failure:
            results.append(failure)
    return results


def without_ids(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "event_id"}


async def end_state(members: dict[str, Member], results: list[Any]) -> dict[str, Any]:
    """Every member's state, the outbox, and which stored event each result names."""
    key_of = dict(await Event.all().values_list("id", "idempotency_key"))
    # As a multiset: a batch writes the benefits a promotion granted after its events'
    # messages, one by one they come right after the promotion's; one transaction either way.
    outbox = sorted(
        (m.topic, json.dumps(without_ids(m.payload), sort_keys=True))
        for m in await OutboxMessage.all()
    )
    return {
        "members": {name: await member_state(m.id) for name, m in members.items()},
        "events": await Event.all().count(),
        "outbox": outbox,
        "named": [key_of.get(r.event_id) if isinstance(r, Recorded) else None for r in results],
    }


async def test_a_batch_ends_where_the_same_events_one_by_one_end(clock, fresh_database):
    clock.set(NOW)
    # Given the programme, and the batch recorded in one call
    async with programme(await fresh_database()) as members:
        batch = items(members)
        batch_results = await record_events(batch, policy=POLICY, now=NOW)
        batch_state = await end_state(members, batch_results)
        assert await ledger_invariants() == []

    # When the same events are sent one by one to a fresh database with the same programme
    async with programme(await fresh_database()) as members:
        assert items(members) == batch
        single_results = await one_by_one(batch)
        single_state = await end_state(members, single_results)
        assert await ledger_invariants() == []

    # Then every item had the same result, and the databases hold the same
    assert [comparable(r) for r in batch_results] == [comparable(r) for r in single_results]
    assert batch_state == single_state


async def test_in_a_batch_a_bad_item_fails_alone_and_a_repeated_key_replays_or_conflicts(
    clock, fresh_database
):
    clock.set(NOW)
    async with programme(await fresh_database()) as members:
        batch = items(members)

        results = await record_events(batch, policy=POLICY, now=NOW)

        # Every item has its own result, in input order: bad items fail alone, each with
        # what is wrong with it, and the items around them are recorded
        assert [(i.idempotency_key, *_kind(r)) for i, r in zip(batch, results, strict=True)] == [
            ("ann-ci-1", "new"),
            ("ann-ci-2", "new"),
            ("ann-sh-1", "new"),
            ("ann-sh-2", "new"),
            ("ann-bad-type", "NotFound", "EventType"),
            ("ann-sh-3", "new"),
            ("bob-p-1", "new"),
            ("bob-p-1", "duplicate"),
            ("bob-p-2", "InvalidInput", "amount"),
            ("bob-p-3", "new"),
            ("bob-p-3", "IdempotencyConflict"),
            ("ghost-1", "NotFound", "Member"),
            ("ghost-2", "NotFound", "Member"),
            ("bob-ci", "new"),
            ("earlier-review", "duplicate"),
            ("earlier-review", "IdempotencyConflict"),
            ("both-refs", "InvalidInput", "memberId"),
            ("ann-sh-1", "IdempotencyConflict"),
            ("cat-future", "InvalidInput", "occurredAt"),
            ("cat-ci-1", "new"),
            ("cat-ci-2", "new"),
            ("ann-sh-4", "new"),
            ("retry-after-bad", "NotFound", "Member"),
            ("retry-after-bad", "new"),
            ("bob-p-1", "IdempotencyConflict"),
            ("cat-rv-1", "new"),
            ("bob-sh-1", "new"),
            ("bob-sh-2", "new"),
            ("cat-rv-2", "new"),
            ("cat-rv-3", "new"),
        ]
        # A key repeated with its payload replays the first outcome and names its event
        first, again = results[6], results[7]
        assert isinstance(first, Recorded) and isinstance(again, Recorded)
        assert (again.outcome, again.event_id) == (first.outcome, first.event_id)
        # The promotion happened in the batch, with the task that pushed Bob over the line
        promoted = results[9]
        assert isinstance(promoted, Recorded)
        assert promoted.outcome["tierChange"] == {"from": "member", "to": "silver"}
        assert [t["code"] for t in promoted.outcome["tasksCompleted"]] == ["spend-200"]
        # Only good items were written; a conflicting payload changed nothing
        never = ["bob-p-2", "ghost-1", "ghost-2", "both-refs", "cat-future"]
        assert not await Event.filter(idempotency_key__in=never).exists()
        assert (await Event.get(idempotency_key="bob-p-3")).amount == Decimal("120")
        assert (await Event.get(idempotency_key="ann-sh-1")).member_id == members["ann"].id
        outcome = {
            i.idempotency_key: r.outcome
            for i, r in zip(batch, results, strict=True)
            if isinstance(r, Recorded)
        }
        # The first event of its day (the refused item before it claimed nothing): the day's
        # 10, and 20 for the task it completes
        assert outcome["cat-rv-1"]["growth"] == 10 + 20
        # After the promotion the season's x2 applies on top of Silver's x1.10: the check-in
        # 5 -> 11, its daily task 3 -> 6 and Silver's own task 9 -> 19 (each rounded down)
        assert outcome["bob-ci"]["points"] == 11 + 6 + 19
        assert [t["code"] for t in outcome["bob-sh-2"]["tasksCompleted"]] == ["festival-shares"]
        bob = await Member.get(external_id="bob")
        # 150 + 120 and spend-200's 50 at Member's x1, then the check-in and the shares
        assert bob.points_balance == 150 + 120 + 50 + (11 + 6 + 19) + 4 + (4 + 44)
        # The promotion granted Silver's benefit and the running season's, once each
        grants = await BenefitGrant.filter(member_id=bob.id).values_list("benefit_id", "source")
        codes = dict(await Benefit.all().values_list("id", "code"))
        assert sorted((codes[b], str(source)) for b, source in grants) == [
            ("double", "season"),
            ("festival-coupon", "season"),
            ("free-shipping", "tier"),
        ]
        # The capped task completed twice (once before the batch), then no more
        assert outcome["cat-rv-1"]["tasksCompleted"][0]["code"] == "reviews"
        assert outcome["cat-rv-2"]["tasksCompleted"] == outcome["cat-rv-3"]["tasksCompleted"] == []
        assert await ledger_invariants() == []


def _kind(result: Recorded | ServiceError) -> tuple[str, ...]:
    if isinstance(result, Recorded):
        return ("duplicate" if result.duplicate else "new",)
    kind = comparable(result)
    if kind[0] == "InvalidInput":
        return ("InvalidInput", *(field for field, _ in kind[1]))
    if kind[0] == "NotFound":
        return ("NotFound", kind[1])
    return (kind[0],)


async def test_a_dry_run_batch_returns_the_real_results_and_writes_nothing(clock, fresh_database):
    clock.set(NOW)
    async with programme(await fresh_database()) as members:
        batch = items(members)
        before = await end_state(members, [])

        preview = await record_events(batch, dry_run=True, policy=POLICY, now=NOW)

        assert await end_state(members, []) == before
        real = await record_events(batch, policy=POLICY, now=NOW)
        assert all(r.dry_run for r in preview if isinstance(r, Recorded))
        assert [comparable(r)[:3] for r in preview] == [comparable(r)[:3] for r in real]
