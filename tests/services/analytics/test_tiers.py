"""Tier dynamics against hand-computed answers on a small fixed programme (both backends)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from app.models import Member
from app.services.analytics.reports import tier_movements
from app.services.analytics.tiers import (
    activity_after_promotion,
    tier_rates,
    time_to_promotion,
)
from app.services.tiers.evaluation import EvaluationPolicy, evaluate_tiers
from app.services.tiers.ladder import publish_ladder
from app.services.tiers.switch import switch_members_to_ladder_in_force
from gamification.analytics import Granularity
from gamification.tiers.ladder import TierRule
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
Z = factories.ZONE


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=Z)


async def event(member: Member, type: str, *args: int) -> None:
    at = local(*args)
    await factories.event(member, type, at=at, now=at)


async def programme() -> dict[str, Member]:
    """Shanghai time (UTC+8), the default ladder (Member < Silver 1,000 < Gold 5,000); a
    check-in is worth 1,000 growth once, a share 4,000 once, reviews count as activity.

    A joins 1 Jun 10:00, Silver 10 Jul 12:00, Gold 20 Aug 12:00.
    B joins 15 Jun 10:00 and stays.
    C joins 20 Jul 10:00, Silver 5 Aug 00:30 (4 Aug in UTC).
    D joins 1 Jun 10:00, Silver 31 Jul 10:00, demoted at the evaluation of 1 Sep 00:30
    (31 Aug in UTC).
    """
    await publish_ladder(
        tiers=factories.LADDER, effective_at=local(2026, 1, 1), now=local(2026, 1, 1)
    )
    await factories.task(code="big", reward_growth=1_000)
    await factories.task(code="huge", event_type="share", reward_growth=4_000)
    a = await factories.member(joined_at=local(2026, 6, 1, 10))
    b = await factories.member(joined_at=local(2026, 6, 15, 10))
    d = await factories.member(joined_at=local(2026, 6, 1, 10))
    await event(a, "review", 2026, 6, 5, 12)  # more than 30 days before Silver
    await event(a, "review", 2026, 6, 10, 12)  # exactly 30 days before: not in (at-30d, at]
    await event(a, "review", 2026, 6, 20, 12)
    await event(a, "review", 2026, 7, 1, 12)
    await event(b, "review", 2026, 7, 1, 12)
    await event(a, "check_in", 2026, 7, 10, 12)  # Silver
    await event(a, "review", 2026, 7, 15, 12)
    c = await factories.member(joined_at=local(2026, 7, 20, 10))
    await event(d, "check_in", 2026, 7, 31, 10)  # Silver, 60 days to the second
    await event(c, "check_in", 2026, 8, 5, 0, 30)  # Silver
    await event(c, "review", 2026, 8, 6, 12)
    await event(c, "review", 2026, 8, 7, 12)
    await event(a, "review", 2026, 8, 9, 12)  # exactly 30 days after Silver: counted
    await event(a, "share", 2026, 8, 20, 12)  # Gold
    await event(a, "review", 2026, 9, 1, 12)
    await Member.filter(id=d.id).update(growth=500)  # below Silver's 800 retention
    result = await evaluate_tiers(policy=EvaluationPolicy(zone=Z), now=local(2026, 9, 1, 0, 30))
    assert result["demoted"] == 1
    return {"a": a, "b": b, "c": c, "d": d}


def table(periods):
    return {
        p.period: {
            t.code: (
                t.members_at_start,
                t.promotions,
                t.demotions,
                t.promotion_rate,
                t.demotion_rate,
            )
            for t in p.tiers
        }
        for p in periods
    }


async def test_rates_per_local_month_and_tier():
    await programme()
    periods = await tier_rates(
        granularity=Granularity.MONTH,
        starts_at=local(2026, 6, 1),
        ends_at=local(2026, 10, 1),
        zone=Z,
        now=local(2026, 10, 1),
    )
    assert table(periods) == {
        # (members at start, promotions out, demotions out, their rates)
        "2026-06": {
            "member": (0, 0, 0, None, None),
            "silver": (0, 0, 0, None, None),
            "gold": (0, 0, 0, None, None),
        },
        "2026-07": {  # A, B, D on the base tier; A and D promoted
            "member": (3, 2, 0, 2 / 3, 0.0),
            "silver": (0, 0, 0, None, None),
            "gold": (0, 0, 0, None, None),
        },
        "2026-08": {  # B, C (joined in July) / A, D; C and A promoted
            "member": (2, 1, 0, 0.5, 0.0),
            "silver": (2, 1, 0, 0.5, 0.0),
            "gold": (0, 0, 0, None, None),
        },
        "2026-09": {  # B / C, D / A; D demoted at 00:30 on 1 Sep local (31 Aug in UTC)
            "member": (1, 0, 0, 0.0, 0.0),
            "silver": (2, 0, 1, 0.0, 0.5),
            "gold": (1, 0, 0, 0.0, 0.0),
        },
    }


async def test_rates_start_from_the_history_before_the_first_period():
    await programme()
    [day] = await tier_rates(
        granularity=Granularity.DAY,
        starts_at=local(2026, 9, 1),
        ends_at=local(2026, 9, 2),
        zone=Z,
        now=local(2026, 10, 1),
    )
    assert day.period == "2026-09-01"
    assert table([day])["2026-09-01"]["silver"] == (2, 0, 1, 0.0, 0.5)
    weeks = await tier_rates(
        granularity=Granularity.WEEK,
        starts_at=local(2026, 8, 3),
        ends_at=local(2026, 8, 10),
        zone=Z,
        now=local(2026, 10, 1),
    )
    # ISO week 32 (Mon 3 Aug local): C's promotion at 00:30 on 5 Aug local.
    assert table(weeks) == {
        "2026-W32": {
            "member": (2, 1, 0, 0.5, 0.0),
            "silver": (2, 0, 0, 0.0, 0.0),
            "gold": (0, 0, 0, None, None),
        }
    }


async def test_a_ladder_change_moves_members_but_is_not_a_demotion():
    await programme()
    # A two-tier ladder from 1 Sep 12:00: A (Gold) is moved to Silver, rank 2 disappears.
    two = (
        TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
        TierRule("silver", "Silver", 1, 1_000, 800, Decimal("1.10")),
    )
    switch = local(2026, 9, 1, 12)
    await publish_ladder(tiers=two, effective_at=switch, now=switch)
    assert (await switch_members_to_ladder_in_force(now=switch))["changed_rank"] == 1

    periods = await tier_rates(
        granularity=Granularity.MONTH,
        starts_at=local(2026, 9, 1),
        ends_at=local(2026, 11, 1),
        zone=Z,
        now=local(2026, 10, 1),
    )
    assert table(periods) == {
        "2026-09": {
            "member": (1, 0, 0, 0.0, 0.0),
            "silver": (2, 0, 1, 0.0, 0.5),
            "gold": (1, 0, 0, 0.0, 0.0),  # named by the newest version that had rank 2
        },
        "2026-10": {
            "member": (2, 0, 0, 0.0, 0.0),
            "silver": (2, 0, 0, 0.0, 0.0),
            "gold": (0, 0, 0, None, None),
        },
    }
    # tierMovements counts the same way.
    [september] = await tier_movements(
        granularity=Granularity.MONTH,
        starts_at=local(2026, 9, 1),
        ends_at=local(2026, 10, 1),
        zone=Z,
    )
    assert (september.promotions, september.demotions) == (0, 1)


async def test_time_to_promotion_per_tier():
    await programme()
    rows = await time_to_promotion(now=local(2026, 10, 1))
    assert [
        (
            r.code,
            r.promotions,
            r.median_days_from_joining,
            r.p90_days_from_joining,
            r.median_days_in_previous_tier,
            r.p90_days_in_previous_tier,
        )
        for r in rows
    ] == [
        # Silver: C 15 days (15 d 14.5 h), A 39 (39 d 2 h), D 60 (to the second); the
        # previous change of each was the enrolment. Median: the 2nd of 3; p90: the 3rd.
        ("silver", 3, 39, 60, 39, 60),
        # Gold: A, 80 days after joining (80 d 2 h), 41 days after reaching Silver.
        ("gold", 1, 80, 80, 41, 41),
    ]


async def test_time_to_promotion_within_a_span():
    await programme()
    rows = await time_to_promotion(
        now=local(2026, 10, 1), starts_at=local(2026, 7, 31, 10), ends_at=local(2026, 8, 20, 12)
    )
    # D (at the start, included) and C; A's Gold at the end is left out.
    assert [
        (r.code, r.promotions, r.median_days_from_joining, r.p90_days_from_joining) for r in rows
    ] == [("silver", 2, 15, 60), ("gold", 0, None, None)]


async def test_activity_before_and_after_promotion():
    await programme()
    rows = await activity_after_promotion(
        starts_at=local(2026, 7, 1), ends_at=local(2026, 9, 1), now=local(2026, 10, 1)
    )
    assert [
        (r.code, r.promotions, r.still_in_window, r.events_before, r.events_after) for r in rows
    ] == [
        # Silver. A: before 20 Jun, 1 Jul, the check-in itself; after 15 Jul, 9 Aug 12:00.
        # C: the check-in / 6 and 7 Aug. D: the check-in / nothing.
        ("silver", 3, 0, 5, 4),
        # Gold. A: 9 Aug and the share / 1 Sep.
        ("gold", 1, 0, 2, 1),
    ]
    silver = rows[0]
    assert silver.events_before_per_member == 5 / 3
    assert silver.events_after_per_member == 4 / 3


async def test_promotions_whose_window_after_is_not_over_are_left_out():
    await programme()
    # On 10 Sep, 30 days after A's Gold (20 Aug) have not passed; C's Silver (5 Aug) has.
    rows = await activity_after_promotion(
        starts_at=local(2026, 7, 1), ends_at=local(2026, 9, 1), now=local(2026, 9, 10)
    )
    assert [
        (r.code, r.promotions, r.still_in_window, r.events_before, r.events_after) for r in rows
    ] == [("silver", 3, 0, 5, 4), ("gold", 0, 1, 0, 0)]
    assert rows[1].events_before_per_member is None
    # A shorter window: 7 days (A's Silver: the check-in / 15 Jul; C: check-in / 6, 7 Aug;
    # D: check-in / none; A's Gold: the share / none).
    rows = await activity_after_promotion(
        starts_at=local(2026, 7, 1), ends_at=local(2026, 9, 1), now=local(2026, 9, 10), days=7
    )
    assert [(r.code, r.promotions, r.events_before, r.events_after) for r in rows] == [
        ("silver", 3, 3, 3),
        ("gold", 1, 1, 0),
    ]


async def test_empty_programme():
    await factories.ladder()
    now = factories.now()
    assert [r.promotions for r in await time_to_promotion(now=now)] == [0, 0]
    rows = await activity_after_promotion(starts_at=local(2026, 1, 1), ends_at=now, now=now)
    assert [(r.code, r.promotions, r.events_before_per_member) for r in rows] == [
        ("silver", 0, None),
        ("gold", 0, None),
    ]
