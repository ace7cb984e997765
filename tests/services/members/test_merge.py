"""Merging a member enrolled twice into the other, on SQLite and PostgreSQL: what moves,
how it adds up, what the merged-away member's ids do afterwards, and that balances stay
the sum of their ledgers whatever runs at the same time."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from app.models import (
    AuditEntry,
    Event,
    LeaderboardMember,
    LeaderboardScore,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    OutboxMessage,
    PointsLedgerEntry,
    TaskProgressRow,
    TierChange,
    TierChangeReason,
)
from app.services.activity.events import Recorded, record_event
from app.services.activity.reversals import reverse_event
from app.services.members.enrollment import enroll_member
from app.services.members.lifecycle import reactivate_member
from app.services.members.merging import merge_members
from app.services.members.reads import member_by_external_id
from app.services.notifications.outbox import OutboxEntry
from app.services.points.ledger import award_points, balance_mismatches
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput, MemberMergedAway
from app.services.webhooks.events import webhook_events
from gamification.badges import BadgeMetric
from gamification.points.ledger import LedgerKind, LedgerSource
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from tests import factories
from tests.factories import POLICY, ZONE, event
from tests.services.activity.event_state import ledger_invariants

pytestmark = pytest.mark.usefixtures("orm")

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZONE)
ADMIN = Actor(subject="ops@brand", role="admin")


async def merge(survivor: Member, duplicate: Member, *, actor: Actor | None = ADMIN):
    return await merge_members(
        survivor_id=survivor.id, duplicate_id=duplicate.id, actor=actor, now=factories.now()
    )


async def twins(clock):
    """The same person enrolled twice, ten days ago."""
    clock.set(NOW)
    joined = NOW - timedelta(days=10)
    app = await factories.member(external_id="app-7", display_name="Ada", joined_at=joined)
    shop = await factories.member(external_id="shop-7", display_name="Ada L.", joined_at=joined)
    return app, shop


async def test_points_lifetime_points_and_growth_move_with_a_transfer_pair(clock):
    # Given two records of one person, each with purchases
    survivor, duplicate = await twins(clock)
    await event(survivor, "purchase", amount="100", at=NOW - timedelta(days=2))
    await event(duplicate, "purchase", amount="40", at=NOW - timedelta(days=1))
    await event(duplicate, "check_in", at=NOW - timedelta(hours=1))
    before_s = await Member.get(id=survivor.id)
    before_d = await Member.get(id=duplicate.id)

    # When an admin merges the shop record into the app record
    merged = await merge(survivor, duplicate)

    # Then the survivor holds both balances, lifetime points and growth
    assert merged.changed
    kept, gone = merged.survivor, merged.duplicate
    assert kept.points_balance == before_s.points_balance + before_d.points_balance == 145
    assert kept.lifetime_points == before_s.lifetime_points + before_d.lifetime_points
    assert kept.growth == before_s.growth + before_d.growth
    # And the duplicate has nothing left, is deactivated and points at the survivor
    assert (gone.points_balance, gone.lifetime_points, gone.growth) == (0, 0, 0)
    assert gone.merged_into_id == kept.id
    assert gone.deactivated_at is not None
    assert gone.deactivation_reason == "Merged into member app-7"
    # And two transfer rows explain the move, each balance the sum of its own ledger
    out = await PointsLedgerEntry.get(member_id=duplicate.id, kind=LedgerKind.TRANSFER)
    into = await PointsLedgerEntry.get(member_id=survivor.id, kind=LedgerKind.TRANSFER)
    assert (out.delta, out.balance_after, out.source) == (-45, 0, LedgerSource.MERGE)
    assert (into.delta, into.balance_after) == (45, 145)
    assert into.reason == "Merged from member shop-7"
    assert await ledger_invariants(lifetime=False) == []
    # And the merge is audited with both members before and after
    entry = await AuditEntry.get(action="member.merge")
    assert (entry.actor, entry.target_id) == ("ops@brand", str(survivor.id))
    assert entry.before["duplicate"]["points_balance"] == 45
    assert entry.after["survivor"]["points_balance"] == 145


async def test_merging_the_same_pair_again_changes_nothing(clock):
    survivor, duplicate = await twins(clock)
    await event(duplicate, "purchase", amount="40")
    await merge(survivor, duplicate)
    rows = await PointsLedgerEntry.all().count()

    again = await merge(survivor, duplicate)

    assert not again.changed
    assert again.survivor.points_balance == 40
    assert await PointsLedgerEntry.all().count() == rows
    assert await AuditEntry.filter(action="member.merge").count() == 1
    assert await OutboxMessage.filter(topic="member.merged").count() == 1


async def test_progress_facts_active_days_and_badges_add_up(clock):
    # Given a three-purchase task, a badge for two purchases, and each record one purchase
    # (both on the same local day, the duplicate one more day earlier with a check-in)
    survivor, duplicate = await twins(clock)
    await factories.task(
        code="buy-3",
        name="Buy three times",
        event_type="purchase",
        condition=Condition.COUNT,
        target=3,
        window=Window.LIFETIME,
        reward_points=50,
    )
    await factories.badge(
        code="shopper", metric=BadgeMetric.EVENTS, subject="purchase", thresholds=[2, 10]
    )
    day = NOW - timedelta(days=1)
    await event(survivor, "purchase", amount="10", at=day)
    await event(duplicate, "check_in", at=day - timedelta(days=1))
    await event(duplicate, "purchase", amount="10", at=day + timedelta(hours=1))
    assert not await MemberBadge.filter(member_id=survivor.id).exists()

    # When they are merged
    await merge(survivor, duplicate)

    # Then the task's progress is the sum of both, and the duplicate has none left
    progress = await TaskProgressRow.get(member_id=survivor.id)
    assert (progress.count, progress.total) == (2, Decimal("20"))
    assert not await TaskProgressRow.filter(member_id=duplicate.id).exists()
    # And the facts add up: two purchases, one check-in
    facts = {f.key: f.value for f in await MemberFact.filter(member_id=survivor.id)}
    assert facts["events:purchase"] == 2
    assert facts["events:check_in"] == 1
    assert facts[BadgeMetric.STREAK_DAYS.value] == 2  # the longer of the two
    assert not await MemberFact.filter(member_id=duplicate.id).exists()
    # And the active days are the union (the shared day once)
    days = await MemberActiveDay.filter(member_id=survivor.id).values_list("day", flat=True)
    assert len(days) == 2
    # And the combined purchases reach the badge's first level
    assert await MemberBadge.filter(member_id=survivor.id).values_list("level", flat=True) == [1]
    # And the survivor's next purchase completes the task with what both did
    outcome = await event(survivor, "purchase", amount="10")
    assert [t["code"] for t in outcome.outcome["tasksCompleted"]] == ["buy-3"]


async def test_badge_levels_are_combined_not_duplicated(clock):
    survivor, duplicate = await twins(clock)
    await factories.badge(code="first-buy", metric=BadgeMetric.EVENTS, subject="purchase")
    await event(survivor, "purchase", amount="10")
    await event(duplicate, "purchase", amount="10")
    assert await MemberBadge.filter(badge__code="first-buy").count() == 2

    await merge(survivor, duplicate)

    held = await MemberBadge.filter(badge__code="first-buy")
    assert [(b.member_id, b.level) for b in held] == [(survivor.id, 1)]


async def test_history_moves_and_a_later_reversal_takes_back_from_the_survivor(clock):
    survivor, duplicate = await twins(clock)
    await event(duplicate, "purchase", amount="60", key="shop-order-1")
    await merge(survivor, duplicate)

    assert await Event.filter(member_id=survivor.id).count() == 1
    enrolled = await TierChange.filter(member_id=survivor.id, reason=TierChangeReason.ENROLLMENT)
    assert len(enrolled) == 2  # both enrolments, now in the survivor's history

    await reverse_event(
        idempotency_key="shop-order-1",
        reason="returned",
        allow_debt=False,
        zone=ZONE,
        now=factories.now(),
    )

    assert (await Member.get(id=survivor.id)).points_balance == 0
    assert (await Member.get(id=duplicate.id)).points_balance == 0
    assert await ledger_invariants(lifetime=False) == []


async def test_the_duplicates_external_id_resolves_to_the_survivor(clock):
    survivor, duplicate = await twins(clock)
    await merge(survivor, duplicate)

    # Enrolling the old external id again returns the survivor, creating nothing
    enrolled = await enroll_member(
        external_id="shop-7", display_name="Ada", now=factories.now(), zone=ZONE
    )
    assert (enrolled.member.id, enrolled.created) == (survivor.id, False)
    # Reading it finds the survivor
    found = await member_by_external_id("shop-7")
    assert [m.id for m in found.members] == [survivor.id]
    # And an event sent under it is recorded for the survivor
    recorded = await record_event(
        external_member_id="shop-7",
        type="purchase",
        amount=Decimal("25"),
        occurred_at=factories.now(),
        idempotency_key="shop-order-2",
        policy=POLICY,
        now=factories.now(),
    )
    assert recorded.member.id == survivor.id
    assert (await Member.get(id=survivor.id)).points_balance == 25


async def test_an_event_sent_again_under_the_old_external_id_replays(clock):
    # Given an event recorded by the shop's external id before the merge
    survivor, duplicate = await twins(clock)

    async def send():
        return await record_event(
            external_member_id="shop-7",
            type="purchase",
            amount=Decimal("30"),
            occurred_at=NOW - timedelta(hours=2),
            idempotency_key="shop-order-3",
            policy=POLICY,
            now=factories.now(),
        )

    first = await send()
    await merge(survivor, duplicate)

    # When the shop retries it after the merge
    again = await send()

    # Then it is a replay of the first, credited once (to the survivor now)
    assert again.duplicate and again.event_id == first.event_id
    assert (await Member.get(id=survivor.id)).points_balance == 30


async def test_the_merged_away_member_id_is_refused(clock):
    survivor, duplicate = await twins(clock)
    other = await factories.member(external_id="pos-7")
    await merge(survivor, duplicate)

    with pytest.raises(MemberMergedAway) as refused:
        await event(duplicate, "check_in")
    assert (refused.value.member_id, refused.value.survivor_id) == (duplicate.id, survivor.id)
    with pytest.raises(MemberMergedAway):
        await merge(other, duplicate)
    with pytest.raises(MemberMergedAway):
        await merge(duplicate, other)
    with pytest.raises(MemberMergedAway):
        await reactivate_member(member_id=duplicate.id, actor=ADMIN, now=factories.now())
    with pytest.raises(MemberMergedAway):
        await award_points(
            member_id=duplicate.id,
            amount=10,
            reason="Goodwill",
            idempotency_key="goodwill-1",
            max_amount=100,
            now=factories.now(),
        )
    assert (await Member.get(id=duplicate.id)).deactivated_at is not None


async def test_a_member_cannot_be_merged_into_itself(clock):
    survivor, _ = await twins(clock)
    with pytest.raises(InvalidInput) as refused:
        await merge(survivor, survivor)
    assert refused.value.problems[0].field == "duplicateId"


async def test_members_merged_into_the_duplicate_follow_it_to_the_survivor(clock):
    first, second = await twins(clock)
    third = await factories.member(external_id="pos-7")
    await event(first, "purchase", amount="10")
    await merge(second, first)

    await merge(third, second)

    assert (await Member.get(id=first.id)).merged_into_id == third.id
    assert [m.id for m in (await member_by_external_id("app-7")).members] == [third.id]
    assert (await Member.get(id=third.id)).points_balance == 10
    assert await ledger_invariants(lifetime=False) == []


async def test_the_survivor_is_promoted_as_far_as_the_combined_growth_reaches(clock):
    # Given two records of 600 growth each (Silver needs 1,000)
    survivor, duplicate = await twins(clock)
    await event(survivor, "purchase", amount="590")
    await event(duplicate, "purchase", amount="590")
    assert (await Member.get(id=survivor.id)).growth == 600

    merged = await merge(survivor, duplicate)

    # Then the survivor is Silver, with the promotion in its history and its inbox
    kept = await Member.get(id=survivor.id).select_related("tier")
    assert kept.tier.code == "silver"
    promotion = await TierChange.get(member_id=survivor.id, reason=TierChangeReason.PROMOTION)
    assert promotion.to_tier_id == kept.tier_id
    assert merged.survivor.growth == 1_200
    # And the duplicate is left on the base tier, with nothing for the evaluation to judge
    gone = await Member.get(id=duplicate.id).select_related("tier")
    assert (gone.tier.code, gone.growth) == ("member", 0)
    outbox = await OutboxMessage.get(topic="member.merged")
    assert outbox.payload["tierChange"] == {"from": "member", "to": "silver"}


async def test_scores_move_to_the_survivor_and_the_duplicate_leaves_the_boards(clock):
    survivor, duplicate = await twins(clock)
    await event(survivor, "purchase", amount="30")
    await event(duplicate, "purchase", amount="20")

    await merge(survivor, duplicate)

    lifetime = await LeaderboardScore.get(
        member_id=survivor.id, metric="points_earned", period_key="lifetime"
    )
    assert lifetime.score == 50
    standing = await LeaderboardMember.get(member_id=duplicate.id)
    assert not standing.member_active
    outbox = await OutboxMessage.get(topic="member.merged")
    assert ["points_earned", "lifetime"] in outbox.payload["scores"]


async def test_the_merge_is_a_member_merged_webhook_event(clock):
    survivor, duplicate = await twins(clock)
    await event(duplicate, "purchase", amount="20")
    await merge(survivor, duplicate)
    row = await OutboxMessage.get(topic="member.merged")

    (webhook,) = webhook_events(
        OutboxEntry(id=row.id, topic=row.topic, payload=row.payload, created_at=row.created_at)
    )

    assert webhook.type == "member.merged"
    assert webhook.member_id == survivor.id
    assert webhook.data["duplicateMemberId"] == duplicate.id
    assert webhook.data["duplicateExternalId"] == "shop-7"
    assert (webhook.data["points"], webhook.data["balance"]) == (20, 20)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_every_balance_is_the_sum_of_its_ledger_after_any_merge(clock, seed):
    # Given members with random histories (earned, and some spent back by reversals)
    clock.set(NOW)
    rng = random.Random(seed)
    members = [await factories.member(joined_at=NOW - timedelta(days=20)) for _ in range(4)]
    total = 0
    for n in range(12):
        who = rng.choice(members)
        amount = rng.randint(1, 200)
        await event(who, "purchase", amount=str(amount), key=f"p-{seed}-{n}")
        total += amount
        if rng.random() < 0.3:
            reversed_ = await reverse_event(
                idempotency_key=f"p-{seed}-{n}",
                reason="returned",
                allow_debt=False,
                zone=ZONE,
                now=factories.now(),
            )
            total -= reversed_.reversal.points

    # When they are merged in a random order into one
    rng.shuffle(members)
    for duplicate in members[1:]:
        await merge(members[0], duplicate)

    # Then every balance is the sum of its ledger, and no point was made or lost
    assert await balance_mismatches() == []
    assert await ledger_invariants(lifetime=False) == []
    balances = [m.points_balance for m in await Member.all()]
    assert sum(balances) == total == (await Member.get(id=members[0].id)).points_balance


async def test_events_of_both_members_during_a_merge_are_exact(clock):
    # Given two records of one person; the pool's connections opened (PostgreSQL)
    survivor, duplicate = await twins(clock)
    await event(survivor, "purchase", amount="5")
    await event(duplicate, "purchase", amount="7")
    await asyncio.gather(*(Member.filter(id=survivor.id).exists() for _ in range(8)))

    def purchase(**member: object) -> object:
        n = next(counter)
        return record_event(
            type="purchase",
            amount=Decimal(n % 9 + 1),
            occurred_at=NOW - timedelta(minutes=n),
            idempotency_key=f"during-{n}",
            policy=POLICY,
            now=factories.now(),
            **member,
        )

    counter = iter(range(1, 1000))
    calls = []
    for _ in range(6):
        calls += [
            purchase(member_id=survivor.id),
            purchase(member_id=duplicate.id),
            purchase(external_member_id="shop-7"),
        ]
    calls.insert(7, merge(survivor, duplicate))

    # When events for both members (by id and by the duplicate's external id) arrive
    # while the merge runs
    results = await asyncio.gather(*calls, return_exceptions=True)

    # Then every event was recorded or, naming the merged-away member id after the
    # merge, refused, never anything else
    for result in results:
        assert not isinstance(result, Exception) or isinstance(result, MemberMergedAway), result
    # And every point credited is the survivor's, its balance the sum of its ledger
    credited = 5 + 7 + sum(r.outcome["points"] for r in results if isinstance(r, Recorded))
    kept = await Member.get(id=survivor.id)
    assert kept.points_balance == credited
    assert (await Member.get(id=duplicate.id)).points_balance == 0
    assert await balance_mismatches() == []
    assert await ledger_invariants(lifetime=False) == []
