"""A member's life over HTTP: a back end or an admin changes its profile, deactivates it
(events and redemptions refused, off the boards, no expiry) and reactivates it."""

from __future__ import annotations

from datetime import date, timedelta

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Member, PointsLedgerEntry, Redemption, Reward
from app.services.points.expiry import expire_points
from app.services.points.ledger import award_points
from tests import factories
from tests.factories import operation


def member_id(member) -> str:
    return encode_id("Member", member.id)


async def update(client, member, **input):
    return (await operation(client, "UpdateMember", id=member_id(member), input=input))[
        "updateMember"
    ]


async def deactivate(client, member, reason="Account closed by the member"):
    body = await operation(client, "DeactivateMember", id=member_id(member), reason=reason)
    return body["deactivateMember"]


async def reactivate(client, member):
    return (await operation(client, "ReactivateMember", id=member_id(member)))["reactivateMember"]


def event_input(member, key: str, amount: str = "100") -> dict[str, object]:
    return {
        "memberId": member_id(member),
        "type": "purchase",
        "occurredAt": factories.now().isoformat(),
        "amount": amount,
        "idempotencyKey": key,
    }


async def record(client, member, key: str):
    body = await operation(client, "RecordEvent", input=event_input(member, key))
    return body["recordEvent"]


async def create_board(client):
    body = await operation(
        client,
        "CreateLeaderboard",
        input={"code": "points", "name": "Top", "metric": "POINTS_EARNED", "period": "ALL_TIME"},
    )
    assert body["createLeaderboard"]["__typename"] == "LeaderboardSaved"


async def board_names(client) -> list[str]:
    board = (await operation(client, "Leaderboard", code="points"))["leaderboard"]
    return [e["node"]["member"]["displayName"] for e in board["entries"]["edges"]]


# Updating the profile


async def test_a_back_end_changes_only_the_fields_it_gives_and_the_change_is_audited(client_as):
    member = await factories.member(display_name="Ada", birthday=date(1990, 5, 17))
    service = await client_as(Role.SERVICE)

    result = await update(
        service,
        member,
        displayName="  Ada L.  ",
        timeZone="Europe/Paris",
        locale="fr-ca",
        marketingOptOut=True,
    )

    assert result["__typename"] == "MemberUpdated"
    assert result["member"] | {"id": None} == {
        "id": None,
        "externalId": member.external_id,
        "displayName": "Ada L.",
        "birthday": "1990-05-17",
        "timeZone": "Europe/Paris",
        "locale": "fr-CA",
        "marketingOptOut": True,
        "leaderboardOptOut": False,
        "active": True,
        "deactivatedAt": None,
    }
    entry = await AuditEntry.get(action="member.update")
    assert (entry.actor_role, entry.target_type, entry.target_id) == (
        "service",
        "Member",
        str(member.id),
    )
    assert entry.before == {
        "display_name": "Ada",
        "time_zone": None,
        "locale": None,
        "marketing_opt_out": False,
    }
    assert entry.after == {
        "display_name": "Ada L.",
        "time_zone": "Europe/Paris",
        "locale": "fr-CA",
        "marketing_opt_out": True,
    }


async def test_null_clears_a_field_that_may_be_empty(client):
    member = await factories.member(birthday=date(1990, 5, 17))
    await update(client, member, timeZone="Asia/Tokyo")

    result = await update(client, member, timeZone=None, birthday=None)

    assert (result["member"]["timeZone"], result["member"]["birthday"]) == (None, None)
    stored = await Member.get(id=member.id)
    assert (stored.time_zone, stored.birthday) == (None, None)


async def test_a_bad_update_names_each_field_as_the_schema_does_and_writes_nothing(client):
    member = await factories.member(display_name="Ada", birthday=date(1990, 5, 17))
    tomorrow = (factories.now() + timedelta(days=2)).date().isoformat()

    result = await update(
        client,
        member,
        displayName="   ",
        birthday=tomorrow,
        timeZone="Mars/Olympus_Mons",
        locale="english please",
        marketingOptOut=True,
    )

    assert result["__typename"] == "ValidationFailed"
    assert result["problems"] == [
        {"field": "displayName", "message": "must not be empty"},
        {"field": "birthday", "message": "must not be in the future"},
        {
            "field": "timeZone",
            "message": "must be an IANA time zone name, e.g. Europe/Paris or America/New_York",
        },
        {
            "field": "locale",
            "message": "must be a BCP 47 language tag, e.g. en, fr-CA or zh-Hant-TW",
        },
    ]
    stored = await Member.get(id=member.id)
    assert (stored.display_name, stored.marketing_opt_out, stored.birthday) == (
        "Ada",
        False,
        date(1990, 5, 17),
    )
    assert await AuditEntry.filter(action="member.update").count() == 0


async def test_a_name_cannot_be_cleared_nor_an_update_be_empty(client):
    member = await factories.member()

    cleared = await update(client, member, displayName=None, marketingOptOut=None)
    empty = await update(client, member)

    assert cleared["problems"] == [
        {"field": "displayName", "message": "cannot be null"},
        {"field": "marketingOptOut", "message": "cannot be null"},
    ]
    assert empty["problems"] == [{"field": "input", "message": "give at least one field to change"}]
    assert await AuditEntry.filter(action="member.update").count() == 0


async def test_an_unknown_member_is_not_found_and_a_marketer_is_refused(client, client_as):
    member = await factories.member()
    missing = await operation(
        client, "UpdateMember", id=encode_id("Member", member.id + 999), input={"locale": "en"}
    )
    marketer = await update(await client_as(Role.MARKETER), member, locale="en")

    assert missing["updateMember"]["__typename"] == "NotFound"
    assert marketer["__typename"] == "Forbidden"
    assert (await Member.get(id=member.id)).locale is None


async def test_the_leaderboard_opt_out_takes_the_member_off_the_boards(client, client_as):
    await create_board(client)
    shy = await factories.member(display_name="Shy")
    bold = await factories.member(display_name="Bold")
    await factories.event(shy, "purchase", amount="500")
    await factories.event(bold, "purchase", amount="100")

    result = await update(await client_as(Role.SERVICE), shy, leaderboardOptOut=True)

    assert result["member"]["leaderboardOptOut"] is True
    assert await board_names(await client_as(Role.MEMBER, bold)) == ["Bold"]
    entry = await AuditEntry.get(action="member.update")
    assert (entry.before, entry.after) == (
        {"leaderboard_opt_out": False},
        {"leaderboard_opt_out": True},
    )


# Deactivating and reactivating


async def test_a_deactivated_members_event_is_refused_with_member_inactive(client):
    member = await factories.member()

    deactivated = await deactivate(client, member)
    refused = await record(client, member, "order-1")
    dry_run = await operation(
        client, "RecordEvent", input=event_input(member, "order-2"), dryRun=True
    )

    assert deactivated["changed"] is True
    assert deactivated["member"]["active"] is False
    assert deactivated["member"]["deactivatedAt"] is not None
    assert refused == {
        "__typename": "MemberInactive",
        "message": f"member {member.id} is deactivated: reactivate it first",
        "memberId": member_id(member),
    }
    assert dry_run["recordEvent"]["__typename"] == "MemberInactive"
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 0
    assert (await Member.get(id=member.id)).points_balance == 0


async def test_in_a_batch_only_the_deactivated_members_items_fail(client):
    gone = await factories.member()
    here = await factories.member()
    await deactivate(client, gone)

    body = await operation(
        client,
        "RecordEvents",
        inputs=[event_input(gone, "b-1"), event_input(here, "b-2"), event_input(gone, "b-3")],
    )

    batch = body["recordEvents"]
    assert [r["__typename"] for r in batch["results"]] == [
        "MemberInactive",
        "EventRecorded",
        "MemberInactive",
    ]
    assert (batch["recorded"], batch["failed"]) == (1, 2)
    assert (await Member.get(id=here.id)).points_balance > 0
    assert (await Member.get(id=gone.id)).points_balance == 0


async def test_deactivating_twice_is_a_no_op_and_each_change_is_audited_once(client):
    member = await factories.member()

    first = await deactivate(client, member, reason="  Fraud suspected  ")
    again = await deactivate(client, member, reason="Another reason")
    back = await reactivate(client, member)
    back_again = await reactivate(client, member)

    assert [first["changed"], again["changed"], back["changed"], back_again["changed"]] == [
        True,
        False,
        True,
        False,
    ]
    assert again["member"]["deactivatedAt"] == first["member"]["deactivatedAt"]
    entries = await AuditEntry.filter(target_type="Member").order_by("id")
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("member.deactivate", {"active": True}, {"active": False, "reason": "Fraud suspected"}),
        ("member.reactivate", {"active": False}, {"active": True}),
    ]
    assert entries[0].actor == "test-admin"


async def test_a_deactivation_needs_a_reason_and_a_member(client, client_as):
    member = await factories.member()

    empty = await deactivate(client, member, reason="  ")
    missing = await operation(
        client, "DeactivateMember", id=encode_id("Member", member.id + 999), reason="Closed"
    )
    marketer = await deactivate(await client_as(Role.MARKETER), member)

    assert empty["problems"] == [
        {"field": "reason", "message": "say why the member is deactivated"}
    ]
    assert missing["deactivateMember"]["__typename"] == "NotFound"
    assert marketer["__typename"] == "Forbidden"
    assert (await Member.get(id=member.id)).deactivated_at is None
    assert await AuditEntry.all().count() == 0


async def test_a_deactivated_member_leaves_every_board_and_comes_back_on_reactivation(
    client, client_as
):
    await create_board(client)
    gone = await factories.member(display_name="Gone")
    here = await factories.member(display_name="Here")
    await factories.event(gone, "purchase", amount="500")
    await factories.event(here, "purchase", amount="100")
    # A board that keeps flagged members shows the deactivated ones neither.
    await operation(
        client,
        "CreateLeaderboard",
        input={
            "code": "all",
            "name": "All",
            "metric": "POINTS_EARNED",
            "period": "ALL_TIME",
            "excludeFlagged": False,
        },
    )
    viewer = await client_as(Role.MEMBER, here)

    await deactivate(client, gone)
    off = await board_names(viewer)
    off_all = (await operation(viewer, "Leaderboard", code="all"))["leaderboard"]
    await reactivate(client, gone)

    assert off == ["Here"]
    assert [e["node"]["member"]["displayName"] for e in off_all["entries"]["edges"]] == ["Here"]
    assert await board_names(viewer) == ["Gone", "Here"]


async def test_reactivation_keeps_the_members_own_opt_out(client, client_as):
    await create_board(client)
    shy = await factories.member(display_name="Shy")
    await factories.event(shy, "purchase", amount="500")
    await update(client, shy, leaderboardOptOut=True)

    await deactivate(client, shy)
    back = await reactivate(client, shy)

    assert back["member"]["leaderboardOptOut"] is True
    assert await board_names(await client_as(Role.MEMBER, shy)) == []


async def test_a_deactivated_member_cannot_redeem_and_loses_nothing(client, client_as):
    member = await factories.member()
    await award_points(
        member_id=member.id,
        amount=250,
        reason="Welcome",
        idempotency_key="welcome",
        max_amount=1000,
        now=factories.now(),
    )
    reward = await factories.reward(points_cost=100, stock=3)
    member_app = await client_as(Role.MEMBER, member)
    await deactivate(client, member)

    refused = await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", reward.id))

    assert refused["redeemPoints"]["__typename"] == "MemberInactive"
    assert (await Member.get(id=member.id)).points_balance == 250
    assert (await Reward.get(id=reward.id)).stock == 3
    assert await Redemption.all().count() == 0

    await reactivate(client, member)
    redeemed = await operation(member_app, "RedeemPoints", rewardId=encode_id("Reward", reward.id))
    assert redeemed["redeemPoints"]["member"]["pointsBalance"] == 150


async def test_points_do_not_expire_while_deactivated_and_do_after_reactivation(client):
    member = await factories.member()
    await award_points(
        member_id=member.id,
        amount=80,
        reason="Welcome",
        idempotency_key="welcome",
        max_amount=1000,
        now=factories.now(),
    )
    await deactivate(client, member)
    later = factories.now() + timedelta(days=400)

    skipped = await expire_points(now=later, zone=factories.ZONE, after_days=365)

    assert skipped == {"members": 0, "points": 0}
    assert (await Member.get(id=member.id)).points_balance == 80

    await reactivate(client, member)
    expired = await expire_points(now=later, zone=factories.ZONE, after_days=365)
    assert expired == {"members": 1, "points": 80}


async def test_a_reactivated_members_events_are_recorded_again(client):
    member = await factories.member()
    await deactivate(client, member)
    assert (await record(client, member, "while-away"))["__typename"] == "MemberInactive"

    back = await reactivate(client, member)
    recorded = await record(client, member, "welcome-back")

    assert back["member"]["active"] is True
    assert back["member"]["deactivatedAt"] is None
    assert recorded["__typename"] == "EventRecorded"
    assert recorded["member"]["pointsBalance"] > 0
