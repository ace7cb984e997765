"""Admin corrections and members' inbox housekeeping over HTTP."""

from __future__ import annotations

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Member, Notification, PointsLedgerEntry
from app.services.points.ledger import balance_mismatches
from tests import factories
from tests.factories import operation


async def adjust(client, member, delta, key="adj", reason="Compensation for a late parcel"):
    data = await operation(
        client,
        "AdjustPoints",
        memberId=encode_id("Member", member.id),
        delta=delta,
        reason=reason,
        idempotencyKey=key,
    )
    return data["adjustPoints"]


async def test_an_admin_corrects_a_balance_up_and_down_and_it_is_audited(client):
    member = await factories.member()

    up = await adjust(client, member, 50, key="a1")
    down = await adjust(client, member, -20, key="a2")

    assert (up["entry"]["kind"], up["entry"]["balanceAfter"]) == ("ADJUST", 50)
    assert down["member"]["pointsBalance"] == 30
    entries = await AuditEntry.filter(action="points.adjust").order_by("id")
    assert [(e.before, e.after["delta"]) for e in entries] == [
        ({"points_balance": 0}, 50),
        ({"points_balance": 50}, -20),
    ]
    assert entries[0].actor == "test-admin"
    assert await balance_mismatches() == []


async def test_a_correction_below_zero_is_refused(client):
    member = await factories.member()
    await adjust(client, member, 10, key="a1")

    result = await adjust(client, member, -11, key="a2")

    assert result["__typename"] == "ValidationFailed"
    assert result["problems"][0]["field"] == "delta"
    assert (await Member.get(id=member.id)).points_balance == 10
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 1


@pytest.mark.parametrize(
    ("delta", "reason", "field"),
    [(0, "A good reason", "delta"), (5, "", "reason"), (5, "ok", "reason")],
)
async def test_a_correction_needs_a_delta_and_a_real_reason(client, delta, reason, field):
    member = await factories.member()
    result = await adjust(client, member, delta, reason=reason)
    assert [p["field"] for p in result["problems"]] == [field]
    assert await AuditEntry.all().count() == 0


async def test_awards_by_an_admin_are_audited_too(client):
    member = await factories.member()
    await operation(
        client,
        "AwardPoints",
        memberId=encode_id("Member", member.id),
        amount=7,
        reason="Birthday",
        idempotencyKey="b1",
    )
    entry = await AuditEntry.get(action="points.award")
    assert (entry.target_id, entry.after["delta"]) == (str(member.id), 7)


async def test_a_member_marks_its_own_notifications_read(client_as):
    member = await factories.member()
    other = await factories.member()
    await factories.task(code="one", reward_points=1)
    await factories.event(member, "check_in")
    await factories.event(other, "check_in")
    mine = await Notification.filter(member_id=member.id).values_list("id", flat=True)
    theirs = await Notification.filter(member_id=other.id).values_list("id", flat=True)
    c = await client_as(Role.MEMBER, member)

    someone_elses = await operation(
        c, "MarkNotificationsRead", ids=[encode_id("Notification", i) for i in theirs]
    )
    own = await operation(
        c, "MarkNotificationsRead", ids=[encode_id("Notification", i) for i in mine]
    )

    assert someone_elses["markNotificationsRead"] == {
        "__typename": "NotificationsMarked",
        "marked": 0,
        "unread": len(mine),
    }
    assert own["markNotificationsRead"] == {
        "__typename": "NotificationsMarked",
        "marked": len(mine),
        "unread": 0,
    }
    assert await Notification.filter(member_id=other.id, read_at__isnull=True).count() == len(
        theirs
    )
