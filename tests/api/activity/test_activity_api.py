"""recordEvent and the member's progress reads over HTTP, with the client operations."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from app.api.shared.ids import encode_id
from app.models import Event, Member, PointsLedgerEntry
from gamification.badges import BadgeMetric
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.factories import ZONE, operation


def event_input(member_id: str, type: str = "check_in", **overrides):
    fields = {
        "memberId": member_id,
        "type": type,
        "occurredAt": factories.now().isoformat(),
        "idempotencyKey": f"k-{datetime.now().timestamp()}",
    }
    fields.update(overrides)
    return fields


async def record(client, dry_run=False, **fields):
    data = await operation(client, "RecordEvent", input=fields, dryRun=dry_run)
    return data["recordEvent"]


async def test_a_purchase_by_external_id_earns_points_and_growth(client):
    member = await factories.member(external_id="shop-42")

    result = await record(
        client,
        externalMemberId="shop-42",
        type="purchase",
        occurredAt=factories.now().isoformat(),
        amount=199.99,  # a JSON number: must arrive as exactly 199.99
        idempotencyKey="order-1001",
    )

    assert result["__typename"] == "EventRecorded"
    assert result["pointsAwarded"] == 199
    assert result["growthAdded"] == 199 + 10
    assert result["member"]["pointsBalance"] == 199
    assert (await Event.get(idempotency_key="order-1001")).amount == Decimal("199.99")
    assert (await Member.get(id=member.id)).points_balance == 199


async def test_a_retry_replays_and_a_dry_run_writes_nothing(client):
    member = await factories.member()
    fields = event_input(encode_id("Member", member.id), "purchase", amount="20")

    preview = await record(client, dry_run=True, **fields)
    first = await record(client, **fields)
    again = await record(client, **fields)

    assert preview["dryRun"] is True and preview["pointsAwarded"] == 20
    assert preview["member"]["pointsBalance"] == 0
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["pointsAwarded"] == first["pointsAwarded"] == 20
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 1


@pytest.mark.parametrize(
    ("overrides", "typename", "field"),
    [
        ({"type": "teleport"}, "NotFound", None),
        ({"memberId": encode_id("Member", 9999)}, "NotFound", None),
        ({"memberId": "nonsense"}, "ValidationFailed", "memberId"),
        ({"amount": "-5"}, "ValidationFailed", "amount"),
        ({"attributes": ["not", "an", "object"]}, "ValidationFailed", "attributes"),
        ({"occurredAt": "2999-01-01T00:00:00+00:00"}, "ValidationFailed", "occurredAt"),
    ],
)
async def test_bad_events_are_typed_failures_and_write_nothing(client, overrides, typename, field):
    member = await factories.member()

    result = await record(client, **event_input(encode_id("Member", member.id), **overrides))

    assert result["__typename"] == typename
    if field:
        assert [p["field"] for p in result["problems"]] == [field]
    assert await Event.all().count() == 0


async def test_a_reused_key_with_another_payload_is_a_conflict(client):
    member = await factories.member()
    fields = event_input(encode_id("Member", member.id), "purchase", amount="20")
    await record(client, **fields)

    clash = await record(client, **(fields | {"amount": "21"}))

    assert clash["__typename"] == "IdempotencyConflict"


async def test_100_concurrent_identical_calls_award_once(client):
    member = await factories.member()
    fields = event_input(encode_id("Member", member.id), "purchase", amount="10")

    results = await asyncio.gather(*(record(client, **fields) for _ in range(100)))

    assert sum(not r["duplicate"] for r in results) == 1
    assert (await Member.get(id=member.id)).points_balance == 10


async def test_a_member_journey_from_joining_to_silver(client):
    """Join, check in 7 days running, finish the streak, earn its badge, reach Silver."""
    await factories.ladder(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
            TierRule(
                "silver",
                "Silver",
                1,
                250,
                200,
                Decimal("1.10"),
                benefits=("Free shipping", "Priority service"),
            ),
        )
    )
    await factories.task(
        code="daily-check-in", name="Daily check-in", window=Window.DAY, reward_points=5
    )
    await factories.task(
        code="streak-7",
        name="7-day streak",
        condition=Condition.STREAK,
        target=7,
        per_window_limit=None,
        reward_points=100,
        reward_growth=50,
        reward_badge="on-fire",
    )
    await factories.badge(
        code="on-fire",
        name="On fire",
        metric=BadgeMetric.TASK_COMPLETED,
        subject="streak-7",
        thresholds=[1],
    )
    start = factories.now() - timedelta(days=6, hours=1)
    enrolled = await operation(
        client,
        "EnrollMember",
        externalId="app-7",
        displayName="Mei",
        joinedAt=(start - timedelta(hours=1)).isoformat(),
    )
    member_id = enrolled["enrollMember"]["member"]["id"]

    results = []
    for day in range(7):
        at = start + timedelta(days=day)
        results.append(
            await record(
                client,
                **event_input(
                    member_id, occurredAt=at.isoformat(), idempotencyKey=f"checkin-{day}"
                ),
            )
        )

    last = results[-1]
    assert [t["code"] for t in last["tasksCompleted"]] == ["daily-check-in", "streak-7"]
    assert last["badgesEarned"] == [{"code": "on-fire", "name": "On fire", "level": 1}]
    assert last["tierChange"] == {"from": "member", "to": "silver"}
    assert last["member"]["tier"]["code"] == "silver"
    assert all(r["tierChange"] is None for r in results[:-1])
    progress = (await operation(client, "MemberProgress", id=member_id))["member"]
    inbox = [e["node"] for e in progress["notifications"]["edges"]]
    tier_up = next(n for n in inbox if n["kind"] == "tier_up")
    assert "Silver" in tier_up["title"]
    assert "Free shipping" in tier_up["body"] and "Priority service" in tier_up["body"]
    assert tier_up["data"]["benefits"] == ["Free shipping", "Priority service"]
    assert {b["code"]: b["level"] for b in progress["badges"]} == {"on-fire": 1}
    streak = next(t for t in progress["tasks"] if t["code"] == "streak-7")
    assert (streak["progress"], streak["target"]) == ("0", 7)  # restarted after completing


async def test_tasks_show_progress_window_end_and_remaining_cap(client):
    member = await factories.member()
    await factories.task(
        code="spend",
        name="Spend 500 this week",
        event_type="purchase",
        condition=Condition.SUM,
        target=500,
        window=Window.WEEK,
    )
    await factories.task(
        code="refer", name="Refer 3 friends", event_type="referral", target=3, cap=1
    )
    member_id = encode_id("Member", member.id)
    await record(client, **event_input(member_id, "purchase", amount="120.50"))
    await record(client, **event_input(member_id, "referral", idempotencyKey="r1"))

    tasks = (await operation(client, "MemberProgress", id=member_id))["member"]["tasks"]

    by_code = {t["code"]: t for t in tasks}
    assert by_code["spend"]["progress"] == "120.50"
    assert by_code["spend"]["window"] == "WEEK"
    ends = datetime.fromisoformat(by_code["spend"]["windowEndsAt"]).astimezone(ZONE)
    assert (ends.weekday(), ends.hour, ends.minute) == (0, 0, 0)  # next local Monday 00:00
    assert by_code["refer"]["progress"] == "1" and by_code["refer"]["remainingCap"] == 1


async def test_unread_only_filters_the_inbox(client):
    member = await factories.member()
    await factories.task(code="one", reward_points=1)
    member_id = encode_id("Member", member.id)
    await record(client, **event_input(member_id))

    unread = await operation(client, "MemberProgress", id=member_id, unreadOnly=True)

    edges = unread["member"]["notifications"]["edges"]
    assert [e["node"]["kind"] for e in edges] == ["task_completed"]
    assert edges[0]["node"]["read"] is False


async def test_a_return_over_http_takes_back_points(client):
    member = await factories.member()
    member_id = encode_id("Member", member.id)
    await record(client, **event_input(member_id, "purchase", amount="60", idempotencyKey="o-9"))

    data = await operation(
        client, "ReverseEvent", idempotencyKey="o-9", reason="Returned one item", amount=20
    )
    again = await operation(
        client, "ReverseEvent", idempotencyKey="o-9", reason="Returned one item", amount=20
    )
    unknown = await operation(client, "ReverseEvent", idempotencyKey="nope", reason="x")

    result = data["reverseEvent"]
    assert result["__typename"] == "EventReversed"
    assert (result["amount"], result["pointsTaken"]) == ("20.00", 20)
    assert result["member"]["pointsBalance"] == 40
    assert again["reverseEvent"]["duplicate"] is True
    assert again["reverseEvent"]["member"]["pointsBalance"] == 40
    assert unknown["reverseEvent"]["__typename"] == "NotFound"
