"""Threshold calibration and the ladder what-if against hand-computed answers, and the
what-if against what publishing, switching, evaluating and the next events really do
(both backends)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tortoise.models import Model

from app import models
from app.models import (
    Benefit,
    LadderVersion,
    LadderVersionStatus,
    Member,
    MemberActiveDay,
    MemberFact,
    Tier,
    TierBenefit,
)
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput
from app.services.tiers.calibration import growth_histogram, suggest_thresholds
from app.services.tiers.evaluation import EvaluationPolicy, apply_evaluation
from app.services.tiers.simulation import simulate_ladder
from app.services.tiers.switch import switch_members_to_ladder_in_force
from app.services.tiers.versions import create_draft, publish
from gamification.activity.engine import GrowthWeights
from gamification.benefits import BenefitKind
from gamification.shared.calendar import local_day
from gamification.tiers.ladder import TierRule
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
Z = factories.ZONE
ADMIN = Actor(subject="test", role="admin")


async def active(growth: int, *, days_ago: int | None = 0) -> Member:
    """A member with ``growth``, last active ``days_ago`` local days ago (None: never)."""
    member = await factories.member()
    await Member.filter(id=member.id).update(growth=growth)
    if days_ago is not None:
        day = local_day(factories.now(), zone=Z) - timedelta(days=days_ago)
        await MemberActiveDay.create(member_id=member.id, day=day)
    return member


async def test_the_histogram_counts_active_members_only():
    for growth in (0, 0, 300, 300, 300, 1_200):
        await active(growth)
    await active(9_000, days_ago=89)  # still inside 90 days, today included
    await active(9_000, days_ago=90)  # just outside
    await active(5_000, days_ago=None)
    histogram = await growth_histogram(now=factories.now(), zone=Z, active_within_days=90)
    assert histogram == [(0, 2), (300, 3), (1_200, 1), (9_000, 1)]


async def test_thresholds_for_target_shares_of_active_members():
    # Ten active members 100 apart, and inactive ones far above who must not count.
    for i in range(1, 11):
        await active(100 * i, days_ago=i)
    for _ in range(5):
        await active(50_000, days_ago=400)
    found = await suggest_thresholds(shares=[0.4, 0.1], now=factories.now(), zone=Z)
    assert found.active_members == 10
    assert [
        (s.threshold, s.members, s.friendly_threshold, s.friendly_members)
        for s in found.suggestions
    ] == [(601, 4, 600, 5), (901, 1, 900, 2)]


async def test_bad_shares_and_windows_are_refused():
    await active(10)
    with pytest.raises(InvalidInput, match="at most 2"):
        await suggest_thresholds(shares=[0.5, 0.2, 0.1], now=factories.now(), zone=Z)
    with pytest.raises(InvalidInput, match="activeWithinDays"):
        await suggest_thresholds(shares=[0.5], now=factories.now(), zone=Z, active_within_days=0)


# The draft of the what-if: Silver and Gold harder, Gold needs two purchases, Platinum new.
DRAFT = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 2_000, 1_500, Decimal("1.10")),
    TierRule("gold", "Gold", 2, 6_000, 5_000, Decimal("1.25"), (("events:purchase", 2),)),
    TierRule("platinum", "Platinum", 3, 20_000, 15_000, Decimal("1.50")),
)
SMALLER = (
    TierRule("base", "Base", 0, 0, 0, Decimal("1.00")),
    TierRule("star", "Star", 1, 3_000, 2_500, Decimal("1.20")),
)
# (tier held, growth, purchases): growth stays 50+ away from every line, so the check-in
# that lets the real programme promote (+10 growth for the active day) changes nothing.
PEOPLE = (
    ("member", 100, 0),
    ("member", 2_500, 0),  # promoted to Silver
    ("member", 7_000, 2),  # promoted to Gold
    ("member", 7_000, 1),  # Gold needs two purchases: Silver
    ("silver", 1_200, 0),  # below Silver's new retention: back to Member
    ("silver", 1_700, 0),
    ("gold", 4_500, 0),  # below Gold's new retention: Silver
    ("gold", 30_000, 0),  # promoted to Platinum
    ("gold", 5_500, 0),
)


async def people() -> list[Member]:
    await factories.ladder()
    tiers = {t.code: t for t in await Tier.all()}
    found = []
    for code, growth, purchases in PEOPLE:
        member = await factories.member()
        await Member.filter(id=member.id).update(tier_id=tiers[code].id, growth=growth)
        if purchases:
            await MemberFact.create(member_id=member.id, key="events:purchase", value=purchases)
        found.append(member)
    benefits = {}
    for code in ("ship", "lounge", "concierge", "gone"):
        benefits[code] = await Benefit.create(
            code=code, name=code.title(), kind=BenefitKind.PRIORITY_SERVICE, value={}
        )
    await Benefit.filter(code="gone").update(archived_at=factories.now())
    for tier_code, codes in {
        "silver": ["ship"],
        "gold": ["ship", "lounge", "gone"],
        "platinum": ["ship", "lounge", "concierge"],
    }.items():
        for code in codes:
            await TierBenefit.create(tier_code=tier_code, benefit=benefits[code])
    return found


async def draft(tiers: tuple[TierRule, ...] = DRAFT) -> LadderVersion:
    return await create_draft(
        tiers=tiers,
        weights=GrowthWeights(spend=Decimal(1), active_day=10, task_completed=20, referral=50),
        notes="",
        actor=ADMIN,
        now=factories.now(),
    )


def moves(outcome):
    return [(m.held.code, m.promoted, m.demoted, m.unchanged) for m in outcome.movements]


def spread(outcome):
    return {d.code: d.members for d in outcome.distribution}


async def test_the_what_if_at_the_switch_and_settled():
    await people()
    version = await draft()
    report = await simulate_ladder(version_id=version.id)
    s = report.simulation
    assert s.members == 9
    # The switch keeps ranks (and here codes): nobody moves, no benefit changes.
    assert moves(s.at_switch) == [("member", 0, 0, 4), ("silver", 0, 0, 2), ("gold", 0, 0, 3)]
    assert spread(s.at_switch) == {"member": 4, "silver": 2, "gold": 3, "platinum": 0}
    assert s.at_switch.benefit_changes == ()
    # Then the thresholds act.
    assert moves(s.settled) == [("member", 3, 0, 1), ("silver", 0, 1, 1), ("gold", 1, 1, 1)]
    assert spread(s.settled) == {"member": 2, "silver": 4, "gold": 2, "platinum": 1}
    # Archived benefits are nobody's to gain or lose.
    assert [(c.benefit, c.added, c.removed) for c in s.settled.benefit_changes] == [
        ("concierge", 1, 0),
        ("lounge", 1, 1),
        ("ship", 3, 1),
    ]
    assert report.benefit_names == {"concierge": "Concierge", "lounge": "Lounge", "ship": "Ship"}


async def test_a_shorter_ladder_demotes_the_top_at_the_switch():
    await people()
    report = await simulate_ladder(version_id=(await draft(SMALLER)).id)
    at_switch = report.simulation.at_switch
    assert moves(at_switch) == [("member", 0, 0, 4), ("silver", 0, 0, 2), ("gold", 0, 3, 0)]
    assert spread(at_switch) == {"base": 4, "star": 5}
    # Codes change: Silver and Gold members lose what their codes gave.
    assert [(c.benefit, c.added, c.removed) for c in at_switch.benefit_changes] == [
        ("lounge", 0, 3),
        ("ship", 0, 5),
    ]


async def test_only_a_draft_can_be_simulated():
    await people()
    version = await draft()
    await LadderVersion.filter(id=version.id).update(status=LadderVersionStatus.PUBLISHED)
    with pytest.raises(InvalidInput, match="only a draft"):
        await simulate_ladder(version_id=version.id)


async def table_counts() -> dict[str, int]:
    found = {}
    for name in models.__all__:
        model = getattr(models, name)
        if isinstance(model, type) and issubclass(model, Model):
            found[model._meta.db_table] = await model.all().count()
    return found


async def test_simulating_and_calibrating_write_nothing():
    await people()
    version = await draft()
    before = await table_counts()
    assert len(before) > 20
    await simulate_ladder(version_id=version.id)
    await suggest_thresholds(shares=[0.3], now=factories.now(), zone=Z)
    assert await table_counts() == before


async def real_spread(version_id: int) -> dict[str, int]:
    found = dict.fromkeys([t.code for t in await Tier.filter(ladder_version_id=version_id)], 0)
    for member in await Member.all().prefetch_related("tier"):
        assert member.tier.ladder_version_id == version_id
        found[member.tier.code] += 1
    return found


@pytest.mark.parametrize("tiers", [DRAFT, SMALLER], ids=["harder", "shorter"])
async def test_the_what_if_is_what_publishing_switching_and_settling_do(tiers):
    members = await people()
    version = await draft(tiers)
    report = (await simulate_ladder(version_id=version.id)).simulation

    # Published an hour ago, in force half an hour ago; the switch job runs now.
    now = factories.now()
    await publish(
        version_id=version.id,
        effective_at=now - timedelta(minutes=30),
        notice=timedelta(0),
        actor=ADMIN,
        now=now - timedelta(hours=1),
    )
    switched = await switch_members_to_ladder_in_force(now=now)
    assert switched["moved"] == report.members
    assert switched["changed_rank"] == sum(
        m.promoted + m.demoted for m in report.at_switch.movements
    )
    assert await real_spread(version.id) == spread(report.at_switch)

    # The next evaluation demotes, the next event of every member promotes.
    tomorrow = local_day(now, zone=Z) + timedelta(days=1)
    await apply_evaluation(evaluated=tomorrow, policy=EvaluationPolicy(zone=Z), now=now)
    for member in members:
        await factories.event(member, "check_in")
    assert await real_spread(version.id) == spread(report.settled)
