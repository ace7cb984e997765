"""recordEvents: a batch of activities over HTTP, one result per input in input order."""

from __future__ import annotations

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import Event, Member, PointsLedgerEntry
from app.services.activity.events import MAX_BATCH
from tests import factories
from tests.factories import operation
from tests.operations import payload


@pytest.fixture(autouse=True)
def still_clock(clock):
    """The clock stands still, so an item sent twice is the same payload."""
    clock.set(clock.now())


def item(member_id: int, key: str, type: str = "purchase", **overrides):
    fields = {
        "memberId": encode_id("Member", member_id),
        "type": type,
        "occurredAt": factories.now().isoformat(),
        "amount": "10",
        "idempotencyKey": key,
    }
    return fields | overrides


async def record_all(client, inputs, dry_run=False):
    data = await operation(client, "RecordEvents", inputs=inputs, dryRun=dry_run)
    return data["recordEvents"]


async def test_each_item_gets_its_own_result_in_input_order(client):
    # Given two members, one of them with an event recorded before
    ann = await factories.member()
    bob = await factories.member()
    await record_all(client, [item(ann.id, "before")])

    # When a batch mixes good items, a replay, a conflict and bad items
    batch = await record_all(
        client,
        [
            item(ann.id, "a-1"),
            item(bob.id, "b-1", amount="25"),
            item(ann.id, "before"),  # recorded before, same payload: replayed
            item(bob.id, "before"),  # recorded before for another member: a conflict
            item(ann.id, "x-1", type="teleport"),
            item(9999, "x-2"),
            item(ann.id, "x-3", amount="-5"),
            item(ann.id, "x-4", attributes=[1, 2]),
            item(ann.id, "a-2", amount="5"),
        ],
    )

    # Then every item has its result at its index and the bad ones failed alone
    results = batch["results"]
    assert [r["__typename"] for r in results] == [
        "EventRecorded",
        "EventRecorded",
        "EventRecorded",
        "IdempotencyConflict",
        "NotFound",
        "NotFound",
        "ValidationFailed",
        "ValidationFailed",
        "EventRecorded",
    ]
    assert [r.get("duplicate") for r in results[:3]] == [False, False, True]
    assert results[6]["problems"][0]["field"] == "amount"
    assert results[7]["problems"][0]["field"] == "attributes"
    assert (batch["recorded"], batch["duplicates"], batch["failed"]) == (3, 1, 5)
    # a member's later items see the earlier ones: balances move on item by item
    assert results[0]["member"]["pointsBalance"] == 20
    assert results[8]["member"]["pointsBalance"] == 25
    assert (await Member.get(id=ann.id)).points_balance == 25
    assert (await Member.get(id=bob.id)).points_balance == 25
    assert await Event.all().count() == 4


async def test_a_dry_run_batch_answers_and_writes_nothing(client):
    member = await factories.member()

    batch = await record_all(client, [item(member.id, "d-1"), item(member.id, "d-2")], dry_run=True)

    assert [r["pointsAwarded"] for r in batch["results"]] == [10, 10]
    assert all(r["dryRun"] for r in batch["results"])
    # the member as it was before the batch, as a dry run of one event shows it
    assert [r["member"]["pointsBalance"] for r in batch["results"]] == [0, 0]
    assert await Event.all().count() == 0
    assert await PointsLedgerEntry.all().count() == 0


async def test_a_batch_sent_twice_credits_once(client):
    member = await factories.member()
    inputs = [item(member.id, f"twice-{n}") for n in range(5)]

    first = await record_all(client, inputs)
    again = await record_all(client, inputs)

    assert first["recorded"] == 5 and again["duplicates"] == 5
    assert (await Member.get(id=member.id)).points_balance == 50


async def test_an_empty_or_oversized_batch_is_refused_whole(client):
    member = await factories.member()

    empty = await record_all(client, [])
    oversized = await record_all(
        client, [item(member.id, f"big-{n}") for n in range(MAX_BATCH + 1)]
    )

    for refused in (empty, oversized):
        assert refused["__typename"] == "ValidationFailed"
        assert [p["field"] for p in refused["problems"]] == ["inputs"]
    assert await Event.all().count() == 0


async def test_members_cannot_report_batches(client_as):
    member = await factories.member()
    as_member = await client_as(Role.MEMBER, member)

    response = await as_member.post(
        "/graphql", json=payload("RecordEvents", inputs=[item(member.id, "m-1")])
    )

    assert response.json()["data"]["recordEvents"]["__typename"] == "Forbidden"
    assert await Event.all().count() == 0
