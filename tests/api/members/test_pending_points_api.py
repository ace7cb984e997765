"""A member sees the points waiting out a return window, and when they come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import EventType
from app.services.points.pending import release_pending_points
from tests import clock, factories
from tests.factories import operation

SALE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def test_a_member_sees_pending_points_with_their_release_date(client_as):
    # Given purchases that pend for 14 days and a member who bought for 120
    clock.current.set(SALE)
    marketer = await client_as(Role.MARKETER)
    saved = await operation(marketer, "UpdateEventType", code="purchase", input={"pendingDays": 14})
    assert saved["updateEventType"]["eventType"]["pendingDays"] == 14
    member = await factories.member()
    service = await client_as(Role.SERVICE)
    recorded = await operation(
        service,
        "RecordEvent",
        input={
            "memberId": encode_id("Member", member.id),
            "type": "purchase",
            "amount": "120",
            "occurredAt": SALE.isoformat(),
            "idempotencyKey": "order-1",
        },
    )
    outcome = recorded["recordEvent"]
    assert (outcome["pointsAwarded"], outcome["pointsPending"]) == (120, 120)
    assert datetime.fromisoformat(outcome["pendingUntil"]) == SALE + timedelta(days=14)

    # When the member looks
    client = await client_as(Role.MEMBER, member)
    me = (await operation(client, "MyPendingPoints"))["me"]

    # Then the points are on their way, not in the balance
    assert (me["pointsBalance"], me["pendingPointsTotal"]) == (0, 120)
    (pending,) = me["pendingPoints"]
    assert pending["points"] == 120
    assert datetime.fromisoformat(pending["releaseAt"]) == SALE + timedelta(days=14)

    # And once released they are in the balance and no longer pending
    await release_pending_points(now=SALE + timedelta(days=14))
    me = (await operation(client, "MyPendingPoints"))["me"]
    assert (me["pointsBalance"], me["pendingPointsTotal"], me["pendingPoints"]) == (120, 0, [])


async def test_a_return_window_longer_than_a_year_is_refused(client_as):
    marketer = await client_as(Role.MARKETER)

    saved = await operation(
        marketer, "UpdateEventType", code="purchase", input={"pendingDays": 400}
    )

    assert saved["updateEventType"]["__typename"] == "ValidationFailed"
    assert [p["field"] for p in saved["updateEventType"]["problems"]] == ["pendingDays"]
    assert (await EventType.get(code="purchase")).pending_days == 0
