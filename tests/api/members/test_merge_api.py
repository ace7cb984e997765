"""Merging a member enrolled twice over HTTP: an admin or a back end keeps one record, the
other's points, history and standing move to it, and the other's ids behave as a brand's
systems expect afterwards."""

from __future__ import annotations

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry
from tests import factories
from tests.factories import operation


def member_id(member) -> str:
    return encode_id("Member", member.id)


async def merge(client, survivor, duplicate):
    body = await operation(
        client, "MergeMembers", survivorId=member_id(survivor), duplicateId=member_id(duplicate)
    )
    return body["mergeMembers"]


def purchase(key: str, amount: str, **member: str) -> dict[str, object]:
    return {
        **member,
        "type": "purchase",
        "occurredAt": factories.now().isoformat(),
        "amount": amount,
        "idempotencyKey": key,
    }


async def record(client, input):
    return (await operation(client, "RecordEvent", input=input))["recordEvent"]


async def enrolled_twice(service):
    app = await factories.member(external_id="app-7", display_name="Ada")
    shop = await factories.member(external_id="shop-7", display_name="Ada L.")
    await record(service, purchase("app-1", "30", memberId=member_id(app)))
    await record(service, purchase("shop-1", "20", externalMemberId="shop-7"))
    return app, shop


async def test_an_admin_merges_two_records_of_one_person(client, client_as):
    # Given one person enrolled by the app and by the shop, each with points
    service = await client_as(Role.SERVICE)
    survivor, duplicate = await enrolled_twice(service)

    # When an admin merges the shop's record into the app's
    result = await merge(client, survivor, duplicate)

    # Then the app's record holds both balances; the shop's is deactivated and points to it
    assert result["__typename"] == "MembersMerged"
    assert result["changed"] is True
    assert result["survivor"]["pointsBalance"] == 50
    assert result["survivor"]["lifetimePoints"] == 50
    assert result["duplicate"]["pointsBalance"] == 0
    assert result["duplicate"]["active"] is False
    assert result["duplicate"]["mergedIntoId"] == member_id(survivor)
    # And the survivor's ledger explains the move with a transfer row
    ledger = await operation(client, "MemberLedger", id=member_id(survivor), first=5)
    rows = [e["node"] for e in ledger["member"]["ledger"]["edges"]]
    assert (rows[0]["kind"], rows[0]["delta"], rows[0]["balanceAfter"]) == ("TRANSFER", 20, 50)
    assert rows[0]["reason"] == "Merged from member shop-7"
    # And the merge is audited under the admin
    entry = await AuditEntry.get(action="member.merge")
    assert (entry.actor_role, entry.target_id) == ("admin", str(survivor.id))

    # When the same merge is sent again, nothing changes
    again = await merge(client, survivor, duplicate)
    assert (again["__typename"], again["changed"]) == ("MembersMerged", False)
    assert again["survivor"]["pointsBalance"] == 50
    assert await AuditEntry.filter(action="member.merge").count() == 1


async def test_the_shops_external_id_keeps_working_for_the_survivor(client, client_as):
    service = await client_as(Role.SERVICE)
    survivor, duplicate = await enrolled_twice(service)
    await merge(service, survivor, duplicate)

    # The shop's back end reads and credits the member under its own id as before
    found = await operation(service, "MemberByExternalId", externalId="shop-7")
    assert found["memberByExternalId"]["id"] == member_id(survivor)
    recorded = await record(service, purchase("shop-2", "15", externalMemberId="shop-7"))
    assert recorded["__typename"] == "EventRecorded"
    assert recorded["member"]["id"] == member_id(survivor)
    assert recorded["member"]["pointsBalance"] == 65
    # And enrolling it again returns the survivor instead of a new member
    enrolled = await operation(service, "EnrollMember", externalId="shop-7", displayName="Ada")
    assert enrolled["enrollMember"]["member"]["id"] == member_id(survivor)
    assert enrolled["enrollMember"]["created"] is False


async def test_the_merged_away_member_id_is_refused_with_the_survivor_named(client, client_as):
    service = await client_as(Role.SERVICE)
    survivor, duplicate = await enrolled_twice(service)
    other = await factories.member(external_id="pos-7")
    await merge(client, survivor, duplicate)

    recorded = await record(service, purchase("shop-3", "10", memberId=member_id(duplicate)))
    assert recorded["__typename"] == "MemberMergedAway"
    assert recorded["memberId"] == member_id(duplicate)
    assert recorded["survivorId"] == member_id(survivor)

    elsewhere = await merge(client, other, duplicate)
    assert elsewhere["__typename"] == "MemberMergedAway"

    reactivated = (await operation(client, "ReactivateMember", id=member_id(duplicate)))[
        "reactivateMember"
    ]
    assert reactivated["__typename"] == "MemberMergedAway"


async def test_bad_merges_are_typed_failures(client):
    member = await factories.member()

    itself = await merge(client, member, member)
    assert itself["__typename"] == "ValidationFailed"
    assert [p["field"] for p in itself["problems"]] == ["duplicateId"]

    missing = await operation(
        client,
        "MergeMembers",
        survivorId=member_id(member),
        duplicateId=encode_id("Member", member.id + 1000),
    )
    assert missing["mergeMembers"]["__typename"] == "NotFound"


async def test_only_admins_and_services_merge_members(client_as):
    survivor = await factories.member()
    duplicate = await factories.member()

    for role, member in ((Role.MARKETER, None), (Role.MEMBER, survivor)):
        caller = await client_as(role, member)
        result = await merge(caller, survivor, duplicate)
        assert result["__typename"] == "Forbidden"
        assert sorted(result["requiredRoles"]) == ["admin", "service"]
    assert not await AuditEntry.filter(action="member.merge").exists()
