"""The demo programme, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from app.models import Member, Tier, TierChange
from app.services.calibration import suggest_thresholds
from app.services.demo import DEMO_LADDER, load_demo
from app.services.ladder import tiers_in_force
from app.services.points import balance_mismatches
from gamification.ladder import tier_for_growth
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")


async def test_the_demo_loads_a_four_tier_ladder_and_200_members():
    result = await load_demo(now=factories.now())

    assert result.loaded and result.members == 200
    tiers = await tiers_in_force(now=factories.now())
    assert [t.name for t in tiers] == ["Member", "Silver", "Gold", "Platinum"]
    assert await Member.all().count() == 200


async def test_demo_balances_are_backed_by_the_ledger_and_tiers_match_growth():
    await load_demo(now=factories.now())

    assert await balance_mismatches() == []
    tiers = {t.id: t for t in await Tier.all()}
    members = await Member.all()
    for member in members:
        assert tiers[member.tier_id].code == tier_for_growth(DEMO_LADDER, member.growth).code
        assert 0 <= member.points_balance <= member.lifetime_points
    # Every tier is populated, most members at the bottom: a plausible programme.
    counts = {
        code: sum(tiers[m.tier_id].code == code for m in members)
        for code in ("member", "silver", "gold", "platinum")
    }
    assert counts["member"] > counts["silver"] > counts["gold"] > counts["platinum"] > 0
    assert await TierChange.filter(member_id=members[0].id).exists()


async def test_loading_the_demo_again_changes_nothing():
    await load_demo(now=factories.now())
    before = await Member.all().count()

    again = await load_demo(now=factories.now())

    assert not again.loaded
    assert await Member.all().count() == before
    assert len(await tiers_in_force(now=factories.now())) == 4


async def test_the_demo_tasks_work_end_to_end():
    from app.models import Member as MemberModel
    from tests.factories import event

    await load_demo(now=factories.now())
    member = await MemberModel.get(external_id="demo-0001")

    checked_in = await event(member, "check_in")

    assert [t["code"] for t in checked_in.outcome["tasksCompleted"]] == ["daily-check-in"]


async def test_the_demo_has_recent_activity_to_calibrate_thresholds_on():
    await load_demo(now=factories.now(), zone=factories.ZONE)

    found = await suggest_thresholds(
        shares=[0.4, 0.15, 0.03], now=factories.now(), zone=factories.ZONE
    )
    assert 100 <= found.active_members < 200
    assert len(found.suggestions) == 3
    thresholds = [s.threshold for s in found.suggestions]
    assert thresholds == sorted(thresholds) and thresholds[0] > 0
