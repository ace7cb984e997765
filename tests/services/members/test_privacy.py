"""Erasing a member: its personal data leaves the whole database; its points, history and
counts stay; it can do nothing more."""

from __future__ import annotations

from datetime import date

import pytest
from tortoise.models import Model

import app.models as models
from app.models import (
    AuditEntry,
    Event,
    LeaderboardScore,
    Member,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
)
from app.services.members import privacy
from app.services.members.lifecycle import reactivate_member, update_member
from app.services.members.privacy import ErasedMembers, erase_member
from app.services.notifications.outbox import OutboxEntry
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput, MemberInactive
from app.services.webhooks.events import webhook_events
from tests import factories
from tests.factories import PERSONAL

ADMIN = Actor(subject="dpo@brand.test", role="admin")


async def database_dump() -> list[tuple[str, str, str]]:
    """Every value of every row of every table, as text: (table, column, value)."""
    found = []
    for name in models.__all__:
        model = getattr(models, name)
        if not (isinstance(model, type) and issubclass(model, Model)):
            continue
        for row in await model.all().values():
            for column, value in row.items():
                found.append((model._meta.db_table, column, str(value)))
    return found


def mentions_of_personal_data(dump: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    needles = [str(v) for v in PERSONAL.values()] + ["Ada"]
    return [cell for cell in dump if any(n in cell[2] for n in needles)]


async def erase(member: Member, confirm: str | None = None) -> privacy.Erasure:
    return await erase_member(
        member_id=member.id,
        confirm=member.external_id if confirm is None else confirm,
        actor=ADMIN,
        now=factories.now(),
    )


async def test_erasure_leaves_no_personal_value_anywhere_in_the_database(orm):
    ada = await factories.member_with_everything()
    assert mentions_of_personal_data(await database_dump())  # the fixture holds them

    erasure = await erase(ada)

    assert erasure.changed
    assert mentions_of_personal_data(await database_dump()) == []
    stored = await Member.get(id=ada.id)
    assert stored.display_name == "Erased member"
    assert stored.external_id.startswith("erased-") and len(stored.external_id) == 23
    assert (stored.birthday, stored.time_zone, stored.locale) == (None, None, None)
    assert stored.erased_at is not None and stored.deactivated_at is not None


async def test_points_history_and_counts_stay_as_they_were(orm):
    ada = await factories.member_with_everything()
    ledger_before = (
        await PointsLedgerEntry.filter(member_id=ada.id)
        .order_by("id")
        .values("delta", "kind", "balance_after")
    )
    events_before = await Event.filter(member_id=ada.id).count()

    await erase(ada)

    stored = await Member.get(id=ada.id)
    ledger_after = (
        await PointsLedgerEntry.filter(member_id=ada.id)
        .order_by("id")
        .values("delta", "kind", "balance_after")
    )
    assert ledger_after == ledger_before
    assert stored.points_balance == sum(row["delta"] for row in ledger_after)
    assert (stored.points_balance, stored.growth, stored.lifetime_points) == (
        ada.points_balance,
        ada.growth,
        ada.lifetime_points,
    )
    assert await Event.filter(member_id=ada.id).count() == events_before
    assert await Event.filter(member_id=ada.id, attributes={}).count() == events_before
    assert {(n.title, n.body) for n in await Notification.filter(member_id=ada.id)} == {("", "")}


async def test_the_member_leaves_every_board_and_the_index_is_told(orm):
    ada = await factories.member_with_everything()
    pairs = await LeaderboardScore.filter(member_id=ada.id).values_list("metric", "period_key")
    assert pairs

    await erase(ada)

    assert not await LeaderboardScore.filter(member_id=ada.id).exists()
    told = await OutboxMessage.filter(topic="leaderboard.member_changed").order_by("-id").first()
    assert told is not None
    assert told.payload["member_id"] == ada.id
    assert sorted(map(tuple, told.payload["scores"])) == sorted(pairs)


async def test_the_audit_log_records_the_erasure_with_ids_only(orm):
    ada = await factories.member_with_everything()

    await erase(ada)

    entry = await AuditEntry.get(action="member.erase")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        "dpo@brand.test",
        "Member",
        str(ada.id),
    )
    assert entry.before == {"erased": False, "active": True}
    assert entry.after == {"erased": True, "active": False}
    update = await AuditEntry.get(action="member.update")
    assert update.before == {"time_zone": None, "locale": None}
    assert update.after == {"time_zone": "[erased]", "locale": "[erased]"}
    flag = await AuditEntry.get(action="member.flag")
    assert flag.after["reason"] == "[erased]"


async def test_a_webhook_tells_of_the_erasure_with_the_laurel_id_only(orm):
    ada = await factories.member_with_everything()

    await erase(ada)

    row = await OutboxMessage.get(topic="member.erased")
    assert row.payload == {"member_id": ada.id}
    (event,) = webhook_events(OutboxEntry(row.id, row.topic, row.payload, row.created_at))
    body = event.payload({ada.id: "erased-0123456789abcdef"})
    assert (body["type"], body["data"]) == ("member.erased", {"memberId": ada.id})


async def test_the_confirmation_must_be_the_external_id_and_nothing_is_written_otherwise(orm):
    member = await factories.member(display_name="Grace", birthday=date(1986, 12, 9))

    with pytest.raises(InvalidInput) as refused:
        await erase(member, confirm="yes, erase")

    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("confirm", "must be the member's external id, exactly, to confirm the erasure")
    ]
    stored = await Member.get(id=member.id)
    assert (stored.display_name, stored.erased_at) == ("Grace", None)
    assert not await AuditEntry.filter(action="member.erase").exists()


async def test_erasing_twice_changes_nothing_the_second_time(orm):
    member = await factories.member()
    original = member.external_id
    first = await erase(member)

    again = await erase(member, confirm=original)

    assert (first.changed, again.changed) == (True, False)
    assert again.member.external_id == first.member.external_id
    assert await AuditEntry.filter(action="member.erase").count() == 1


async def test_an_erased_member_records_no_events_and_cannot_come_back(orm):
    member = await factories.member()
    await erase(member)

    with pytest.raises(MemberInactive):
        await factories.event(member, "check_in")
    with pytest.raises(InvalidInput) as refused:
        await reactivate_member(member_id=member.id, actor=ADMIN, now=factories.now())
    assert refused.value.problems[0].field == "id"
    with pytest.raises(InvalidInput):
        await update_member(
            member_id=member.id,
            changes={"display_name": "Back again"},
            actor=ADMIN,
            now=factories.now(),
            zone=factories.ZONE,
        )


async def test_every_process_learns_of_an_erasure(orm, clock):
    member, other = await factories.member(), await factories.member()
    here, elsewhere = ErasedMembers(), ErasedMembers()
    assert not await here.contains(member.id, now=factories.now())
    assert not await elsewhere.contains(other.id, now=factories.now())

    # Erased by another process: this one reads it at the next refresh.
    await Member.filter(id=other.id).update(erased_at=factories.now())
    assert not await elsewhere.contains(other.id, now=factories.now())
    assert await elsewhere.contains(other.id, now=factories.now() + privacy.REFRESH)
    # Erased here: every reader of this process knows at once.
    await erase(member)
    assert await here.contains(member.id, now=factories.now())


async def test_erasing_a_survivor_erases_the_member_merged_into_it(orm):
    # Given the same person enrolled twice (the shop's id and the CRM's), then merged
    from app.services.members.merging import merge_members

    ada = await factories.member_with_everything()
    shop_ada = await factories.member(
        external_id="shop-" + PERSONAL["external_id"], display_name=PERSONAL["display_name"]
    )
    await merge_members(
        survivor_id=ada.id, duplicate_id=shop_ada.id, actor=ADMIN, now=factories.now()
    )

    # When the survivor is erased
    erasure = await erase(ada)

    # Then the duplicate's row, its old external id and the merge's audit entry are erased too
    assert erasure.changed
    assert mentions_of_personal_data(await database_dump()) == []
    duplicate = await Member.get(id=shop_ada.id)
    assert duplicate.erased_at is not None
    assert duplicate.external_id.startswith("erased-")
    assert duplicate.merged_into_id == ada.id


async def test_what_webhooks_were_told_about_the_member_is_erased_too(orm):
    # Given a member whose profile change and deactivation were told to a subscribed endpoint
    from app.models import WebhookDelivery
    from app.services.members.lifecycle import deactivate_member
    from app.services.notifications.outbox import relay_batch
    from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
    from app.services.webhooks.events import WebhookSink

    await create_endpoint(
        url="http://127.0.0.1:9/hooks",
        event_types=["member.updated", "member.deactivated"],
        policy=UrlPolicy(https_only=False, allow_private=True),
        actor=ADMIN,
        now=factories.now(),
    )
    ada = await factories.member(external_id=PERSONAL["external_id"], display_name="A")
    await update_member(
        member_id=ada.id,
        changes={"display_name": PERSONAL["display_name"], "birthday": PERSONAL["birthday"]},
        actor=ADMIN,
        now=factories.now(),
        zone=factories.ZONE,
    )
    await deactivate_member(
        member_id=ada.id, reason=f"{PERSONAL['email']} asked", actor=ADMIN, now=factories.now()
    )
    while await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now()):
        pass
    assert await WebhookDelivery.filter(event_type="member.updated").count() == 1
    assert mentions_of_personal_data(await database_dump())

    # When the member is erased
    await erase(ada)

    # Then no delivery nor outbox row keeps the name, birthday, reason or external id
    assert mentions_of_personal_data(await database_dump()) == []
    changes = [d.payload["data"] for d in await WebhookDelivery.all().order_by("id")]
    assert [c.get("changes", c.get("reason")) for c in changes] == ["[erased]", "[erased]"]
