"""Analytics against hand-computed answers on a small fixed programme (both backends)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.services.analytics.reports import (
    outstanding_liability,
    points_flow,
    tier_distribution,
    tier_movements,
)
from app.services.points.expiry import expire_points
from app.services.points.ledger import adjust_points, award_points
from app.services.shared.audit import Actor
from app.services.tiers.ladder import publish_ladder
from gamification.analytics import Granularity
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
Z = factories.ZONE
ADMIN = Actor(subject="test", role="admin")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=Z)


async def programme():
    """A (joined 1 Sep, Silver on 10 Oct), B (joined 15 Sep, stays), C (joined 20 Oct,
    Silver on 5 Nov at 00:30 local, which is still 4 Nov in UTC)."""
    await publish_ladder(
        tiers=factories.LADDER, effective_at=local(2026, 1, 1), now=local(2026, 1, 1)
    )
    await factories.task(code="big", reward_growth=1_000)
    a = await factories.member(joined_at=local(2026, 9, 1, 10))
    await factories.member(joined_at=local(2026, 9, 15, 10))
    c = await factories.member(joined_at=local(2026, 10, 20, 10))
    await factories.event(a, "check_in", at=local(2026, 10, 10, 12), now=local(2026, 10, 10, 12))
    await factories.event(
        c, "check_in", at=local(2026, 11, 5, 0, 30), now=local(2026, 11, 5, 0, 30)
    )
    return a, c


def counts(rows):
    return {r.code: r.members for r in rows}


async def test_tier_distribution_at_past_dates():
    await programme()
    assert counts(await tier_distribution(at=local(2026, 8, 31))) == {
        "member": 0,
        "silver": 0,
        "gold": 0,
    }
    assert counts(await tier_distribution(at=local(2026, 10, 1))) == {
        "member": 2,
        "silver": 0,
        "gold": 0,
    }
    assert counts(await tier_distribution(at=local(2026, 10, 31))) == {
        "member": 2,
        "silver": 1,
        "gold": 0,
    }
    assert counts(await tier_distribution(at=local(2026, 11, 5, 1))) == {
        "member": 1,
        "silver": 2,
        "gold": 0,
    }
    # A quarter of an hour before C's promotion, given in local time (UTC+8): the moment is
    # compared as a moment, not as text against the UTC the rows are stored in.
    assert counts(await tier_distribution(at=local(2026, 11, 5, 0, 15))) == {
        "member": 2,
        "silver": 1,
        "gold": 0,
    }


async def test_promotions_per_local_month_and_day():
    await programme()
    months = await tier_movements(
        granularity=Granularity.MONTH,
        starts_at=local(2026, 9, 1),
        ends_at=local(2026, 12, 1),
        zone=Z,
    )
    assert [(m.period, m.promotions, m.demotions) for m in months] == [
        ("2026-09", 0, 0),
        ("2026-10", 1, 0),
        ("2026-11", 1, 0),
    ]
    days = await tier_movements(
        granularity=Granularity.DAY,
        starts_at=local(2026, 11, 4),
        ends_at=local(2026, 11, 6),
        zone=Z,
    )
    # 00:30 on 5 November local: counted on the 5th, not on UTC's 4th.
    assert [(d.period, d.promotions) for d in days] == [("2026-11-04", 0), ("2026-11-05", 1)]


async def test_points_issued_spent_expired_and_liability():
    a, _ = await programme()
    base_liability = await outstanding_liability()
    await award_points(
        member_id=a.id,
        amount=500,
        reason="gift",
        idempotency_key="g",
        max_amount=10_000,
        actor=ADMIN,
        now=factories.now(),
    )
    await adjust_points(
        member_id=a.id,
        delta=-120,
        reason="spent",
        idempotency_key="s",
        allow_debt=False,
        max_amount=10_000,
        actor=ADMIN,
        now=factories.now(),
    )
    today = factories.now().astimezone(Z)
    this_month = local(today.year, today.month, 1)
    flow = await points_flow(
        granularity=Granularity.MONTH,
        starts_at=this_month,
        ends_at=this_month + timedelta(days=32),
        zone=Z,
    )
    first = flow[0]
    # Everything the ledger holds was written today (the ledger stamps rows as written).
    assert first.issued == base_liability + 500
    assert first.spent == 0  # a negative adjustment is not a redemption
    assert await outstanding_liability() == base_liability + 500 - 120

    later = factories.now() + timedelta(days=400)
    expired = await expire_points(now=later, zone=Z, after_days=365)
    flow = await points_flow(
        granularity=Granularity.DAY,
        starts_at=later - timedelta(days=1),
        ends_at=later + timedelta(days=1),
        zone=Z,
    )
    assert sum(p.expired for p in flow) == expired["points"] > 0
    assert await outstanding_liability() == 0


async def test_a_report_is_bounded():
    with pytest.raises(ValueError, match="at most"):
        await tier_movements(
            granularity=Granularity.DAY,
            starts_at=local(2020, 1, 1),
            ends_at=local(2026, 1, 1),
            zone=Z,
        )
    with pytest.raises(ValueError, match="after"):
        await points_flow(
            granularity=Granularity.DAY,
            starts_at=local(2026, 1, 2),
            ends_at=local(2026, 1, 1),
            zone=Z,
        )


async def test_members_at_risk_are_those_below_their_tiers_retention():
    from app.models import Member
    from app.services.analytics.reports import members_at_risk

    await factories.task(code="big", reward_growth=1_000)
    safe, risky, plain = [
        await factories.member(display_name=n) for n in ("Safe", "Risky", "Plain")
    ]
    for member in (safe, risky):
        await factories.event(member, "check_in")  # Silver: entry 1,000, retention 800
    # Growth fell under the rolling window for one of them (as the evaluation would see it).
    await Member.filter(id=risky.id).update(growth=300)

    rows, more = await members_at_risk(now=factories.now(), after_id=None, first=10)
    assert [(r.display_name, r.tier_code, r.growth, r.gap) for r in rows] == [
        ("Risky", "silver", 300, 500)
    ]
    assert more is False
    assert plain.id not in {r.member_id for r in rows}  # the base tier is never at risk
