"""Members and points over HTTP, through the client operations in graphql/operations/."""

from __future__ import annotations

import asyncio

import pytest

from app.api.shared.ids import encode_id
from app.models import Member, PointsLedgerEntry, Tier
from tests import factories
from tests.factories import graphql, operation


async def enroll(client, external_id="crm-1", display_name="Ada Lovelace", **extra):
    data = await operation(
        client, "EnrollMember", externalId=external_id, displayName=display_name, **extra
    )
    return data["enrollMember"]


async def award(client, member_id, amount=10, key="k-1", reason="Welcome bonus"):
    data = await operation(
        client,
        "AwardPoints",
        memberId=member_id,
        amount=amount,
        reason=reason,
        idempotencyKey=key,
    )
    return data["awardPoints"]


async def test_a_back_end_enrolls_a_member_and_reads_it_back(client):
    await factories.ladder()

    enrolled = await enroll(client, birthday="1990-02-03", joinedAt="2026-01-02T03:04:05+08:00")

    assert enrolled["__typename"] == "MemberEnrolled" and enrolled["created"]
    member = enrolled["member"]
    assert member["displayName"] == "Ada Lovelace"
    assert member["birthday"] == "1990-02-03"
    assert member["tier"] == {
        "id": encode_id("Tier", (await Tier.get(code="member")).id),
        "code": "member",
        "name": "Member",
        "rank": 0,
    }
    assert member["tierProgress"]["next"]["code"] == "silver"
    assert member["tierProgress"]["growthToNext"] == 1000
    assert member["tierProgress"]["atRisk"] is False
    by_id = await operation(client, "Member", id=member["id"])
    by_external = await operation(client, "MemberByExternalId", externalId="crm-1")
    assert by_id["member"] == by_external["memberByExternalId"] == member


async def test_enrolling_twice_returns_the_same_member(client):
    await factories.ladder()
    first = await enroll(client)

    again = await enroll(client, display_name="Not Ada")

    assert again["created"] is False
    assert again["member"]["id"] == first["member"]["id"]
    assert again["member"]["displayName"] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"display_name": ""}, "displayName"),
        ({"display_name": "x" * 81}, "displayName"),
        ({"birthday": "2999-01-01"}, "birthday"),
        ({"external_id": ""}, "externalId"),
    ],
)
async def test_a_bad_enrollment_is_a_typed_failure_and_writes_nothing(client, overrides, field):
    await factories.ladder()

    result = await enroll(client, **overrides)

    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await Member.all().count() == 0


async def test_an_award_moves_the_balance_and_is_listed_in_the_ledger(client):
    member = await factories.member()
    member_id = encode_id("Member", member.id)

    result = await award(client, member_id, amount=50, key="welcome")

    assert result["__typename"] == "PointsAwarded"
    assert result["replayed"] is False
    assert result["entry"]["delta"] == 50 and result["entry"]["kind"] == "EARN"
    assert result["entry"]["balanceAfter"] == 50
    assert result["member"] == {"id": member_id, "pointsBalance": 50, "lifetimePoints": 50}
    ledger = await operation(client, "MemberLedger", id=member_id, first=10)
    edges = ledger["member"]["ledger"]["edges"]
    assert [e["node"]["reason"] for e in edges] == ["Welcome bonus"]


async def test_repeating_an_idempotency_key_returns_the_first_award(client):
    member = await factories.member()
    member_id = encode_id("Member", member.id)
    first = await award(client, member_id, amount=50, key="order-1")

    again = await award(client, member_id, amount=50, key="order-1")

    assert again["replayed"] is True
    assert again["entry"] == first["entry"]
    assert again["member"]["pointsBalance"] == 50
    assert await PointsLedgerEntry.all().count() == 1


async def test_reusing_a_key_for_another_award_is_a_conflict(client):
    member = await factories.member()
    member_id = encode_id("Member", member.id)
    await award(client, member_id, amount=50, key="order-2")

    clash = await award(client, member_id, amount=60, key="order-2")

    assert clash["__typename"] == "IdempotencyConflict"
    assert clash["idempotencyKey"] == "order-2"
    assert (await Member.get(id=member.id)).points_balance == 50


BAD_AWARDS = [
    pytest.param({"member_id": encode_id("Member", 424242)}, "NotFound", None, id="unknown"),
    pytest.param({"amount": -5}, "ValidationFailed", "amount", id="negative"),
    pytest.param({"amount": 0}, "ValidationFailed", "amount", id="zero"),
    pytest.param({"amount": 10_000_000}, "ValidationFailed", "amount", id="too-large"),
    pytest.param({"reason": "r" * 201}, "ValidationFailed", "reason", id="long-reason"),
    pytest.param({"reason": "  "}, "ValidationFailed", "reason", id="blank-reason"),
    pytest.param({"key": ""}, "ValidationFailed", "idempotencyKey", id="blank-key"),
    pytest.param({"member_id": "not-an-id"}, "ValidationFailed", "memberId", id="malformed"),
    pytest.param(
        {"member_id": encode_id("Tier", 1)}, "ValidationFailed", "memberId", id="wrong-kind"
    ),
]


@pytest.mark.parametrize(("bad", "typename", "field"), BAD_AWARDS)
async def test_a_bad_award_is_a_typed_failure_and_leaves_the_ledger_alone(
    client, bad, typename, field
):
    member = await factories.member()
    await award(client, encode_id("Member", member.id), amount=10, key="good")
    args = {
        "member_id": encode_id("Member", member.id),
        "amount": 10,
        "key": "bad",
        "reason": "Welcome bonus",
    } | bad

    result = await award(client, **args)

    assert result["__typename"] == typename
    if field:
        assert [p["field"] for p in result["problems"]] == [field]
    assert await PointsLedgerEntry.all().count() == 1
    assert (await Member.get(id=member.id)).points_balance == 10


async def test_an_amount_beyond_graphql_int_is_a_graphql_error_not_a_500(client):
    member = await factories.member()
    body = await graphql(
        client,
        'mutation($id: ID!) { awardPoints(memberId: $id, amount: 3000000000, reason: "x", '
        'idempotencyKey: "big") { __typename } }',
        {"id": encode_id("Member", member.id)},
    )
    assert body["data"] is None
    assert "Int cannot represent" in body["errors"][0]["message"]
    assert await PointsLedgerEntry.all().count() == 0


async def test_200_concurrent_awards_over_http_add_up_exactly(client):
    member = await factories.member()
    member_id = encode_id("Member", member.id)

    results = await asyncio.gather(
        *(award(client, member_id, amount=10, key=f"burst-{i}") for i in range(200))
    )

    assert {r["__typename"] for r in results} == {"PointsAwarded"}
    stored = await Member.get(id=member.id)
    assert stored.points_balance == 2000
    entries = await PointsLedgerEntry.filter(member_id=member.id)
    assert len(entries) == 200 and sum(e.delta for e in entries) == 2000


async def test_members_page_with_cursors_without_gaps_or_repeats(client):
    made = [await factories.member() for _ in range(5)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await operation(client, "Members", first=2, after=after)
        connection = data["members"]
        seen += [e["node"]["externalId"] for e in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == [m.external_id for m in made]
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ('{ member(id: "garbage") { id } }', "id"),
        ("{ members(first: 0) { edges { cursor } } }", "first"),
        ("{ members(first: 101) { edges { cursor } } }", "first"),
        ('{ members(first: 5, after: "nope") { edges { cursor } } }', "after"),
    ],
)
async def test_bad_query_arguments_are_clear_errors(client, query, field):
    body = await graphql(client, query)
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_an_unknown_member_reads_as_null(client):
    data = await operation(client, "Member", id=encode_id("Member", 99))
    assert data == {"member": None}
    data = await operation(client, "MemberByExternalId", externalId="nobody")
    assert data == {"memberByExternalId": None}


async def test_the_ladder_in_force_is_listed_lowest_first(client):
    await factories.ladder()
    data = await operation(client, "TierLadder")
    assert [(t["name"], t["entryThreshold"], t["multiplier"]) for t in data["tierLadder"]] == [
        ("Member", 0, "1.00"),
        ("Silver", 1000, "1.10"),
        ("Gold", 5000, "1.25"),
    ]
