"""Points expire first in, first out, one ledger row per member and day, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import Member, OutboxMessage, PointsLedgerEntry
from app.services.points.expiry import expire_points
from app.services.points.ledger import adjust_points, award_points, balance_mismatches
from app.services.shared.audit import Actor
from gamification.points.ledger import LedgerKind
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
ADMIN = Actor(subject="test", role="admin")


async def credit(member, amount: int, *, key: str) -> None:
    """Credit points now; tests move the clock forward instead of backdating the ledger
    (it refuses UPDATE)."""
    await award_points(
        member_id=member.id,
        amount=amount,
        reason="test",
        idempotency_key=key,
        actor=ADMIN,
        now=factories.now(),
        max_amount=10_000,
    )


async def test_old_unused_points_expire_first_in_first_out():
    member = await factories.member()
    await credit(member, 100, key="a")
    later = factories.now() + timedelta(days=400)
    # 100 credited long before `later`, then 30 spent: 70 of the old credit are left.
    await adjust_points(
        member_id=member.id,
        delta=-30,
        reason="spent",
        idempotency_key="s",
        allow_debt=False,
        actor=ADMIN,
        now=factories.now(),
        max_amount=10_000,
    )
    fresh_key = "b"
    result = await expire_points(now=later, zone=factories.ZONE, after_days=365)
    assert result == {"members": 1, "points": 70}
    await award_points(
        member_id=member.id,
        amount=5,
        reason="new",
        idempotency_key=fresh_key,
        actor=ADMIN,
        now=later,
        max_amount=10_000,
    )
    member = await Member.get(id=member.id)
    assert member.points_balance == 5
    expiry = await PointsLedgerEntry.get(member_id=member.id, kind=LedgerKind.EXPIRE)
    assert (expiry.delta, expiry.balance_after) == (-70, 0)
    assert await balance_mismatches() == []
    told = await OutboxMessage.get(topic="points.expired")
    assert told.payload == {"member_id": member.id, "delta": -70, "balance": 0}


async def test_a_rerun_the_same_day_expires_nothing_more():
    member = await factories.member()
    await credit(member, 50, key="a")
    later = factories.now() + timedelta(days=400)
    await expire_points(now=later, zone=factories.ZONE, after_days=365)
    again = await expire_points(now=later + timedelta(hours=1), zone=factories.ZONE, after_days=365)
    assert again == {"members": 0, "points": 0}
    assert (await Member.get(id=member.id)).points_balance == 0
    assert await PointsLedgerEntry.filter(kind=LedgerKind.EXPIRE).count() == 1


async def test_recent_points_and_disabled_expiry_keep_everything():
    member = await factories.member()
    await credit(member, 80, key="a")
    soon = factories.now() + timedelta(days=10)
    assert await expire_points(now=soon, zone=factories.ZONE, after_days=365) == {
        "members": 0,
        "points": 0,
    }
    later = factories.now() + timedelta(days=400)
    assert await expire_points(now=later, zone=factories.ZONE, after_days=None) == {
        "members": 0,
        "points": 0,
    }
    assert (await Member.get(id=member.id)).points_balance == 80
