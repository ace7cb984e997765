"""Season boundaries: benefits switched on for eligible members at a season's start,
exactly once whatever runs race, expired at its end, granted on a promotion mid-season."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.models import (
    Benefit,
    BenefitGrant,
    Member,
    OutboxMessage,
    Season,
    SeasonalBenefit,
    Tier,
    TierBenefit,
)
from app.services.benefits.grants import use_benefit
from app.services.jobs.schedule import JOBS, run_job
from app.services.members.lifecycle import deactivate_member, reactivate_member
from app.services.seasons.switch import switch_seasons
from app.services.shared.audit import Actor
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from tests import factories
from tests.factories import ZONE, event

pytestmark = pytest.mark.usefixtures("orm")


def next_local_midnight(days: int = 2) -> datetime:
    """A local midnight comfortably after every member a test enrolls."""
    local = (factories.now() + timedelta(days=days)).astimezone(ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def season(starts_at: datetime, ends_at: datetime, code: str = "spring") -> Season:
    return await Season.create(code=code, name=code.title(), starts_at=starts_at, ends_at=ends_at)


async def seasonal(
    season: Season,
    code: str,
    tier_codes: list[str],
    kind: BenefitKind = BenefitKind.COUPON,
    value: dict[str, Any] | None = None,
) -> Benefit:
    benefit = await Benefit.create(
        code=code,
        name=code.title(),
        kind=kind,
        value=value if value is not None else {"code_prefix": "FEST", "percent": 10},
    )
    await SeasonalBenefit.create(season=season, benefit=benefit, tier_codes=tier_codes)
    return benefit


async def member_on(tier_code: str) -> Member:
    member = await factories.member()
    tier = await Tier.get(code=tier_code)
    await Member.filter(id=member.id).update(tier_id=tier.id)
    return member


async def held(member: Member) -> list[tuple[str, str, str, GrantStatus]]:
    grants = await BenefitGrant.filter(member_id=member.id).select_related("benefit")
    return sorted((g.benefit.code, g.source.value, g.source_ref, g.status) for g in grants)


async def test_a_season_start_grants_its_benefits_to_the_members_of_its_tiers():
    start = next_local_midnight()
    spring = await season(start, start + timedelta(days=14))
    await seasonal(spring, "coupon", ["silver", "gold"])
    await seasonal(spring, "double", ["gold"], BenefitKind.POINTS_MULTIPLIER, {"factor": 2})
    base, silver, gold = (
        await member_on("member"),
        await member_on("silver"),
        await member_on("gold"),
    )

    before = await switch_seasons(now=start - timedelta(seconds=1))
    assert before.granted == 0 and await BenefitGrant.all().count() == 0

    at_start = await switch_seasons(now=start, batch_size=2)
    again = await switch_seasons(now=start + timedelta(minutes=1), batch_size=2)

    assert (at_start.granted, at_start.started) == (3, [spring.id])
    assert again.granted == 0
    ref = str(spring.id)
    assert await held(base) == []
    assert await held(silver) == [("coupon", "season", ref, GrantStatus.ACTIVE)]
    assert await held(gold) == [
        ("coupon", "season", ref, GrantStatus.ACTIVE),
        ("double", "season", ref, GrantStatus.ACTIVE),
    ]
    grant = await BenefitGrant.filter(member_id=gold.id).first()
    assert (grant.valid_from, grant.valid_to) == (spring.starts_at, spring.ends_at)
    # Each grant names the tier it was for (seasonal uptake is reported by it).
    assert sorted(await BenefitGrant.all().values_list("member_id", "tier_code")) == sorted(
        [(silver.id, "silver"), (gold.id, "gold"), (gold.id, "gold")]
    )


async def test_members_enrolled_after_the_start_are_granted_by_a_later_run():
    start = next_local_midnight()
    spring = await season(start, start + timedelta(days=14))
    await seasonal(spring, "welcome", ["member"])
    first = await member_on("member")
    assert (await switch_seasons(now=start)).granted == 1

    later = await member_on("member")
    rerun = await switch_seasons(now=start + timedelta(minutes=1))

    assert rerun.granted == 1
    assert [g[0] for g in await held(first)] == [g[0] for g in await held(later)] == ["welcome"]


async def test_archived_seasons_and_benefits_grant_nothing():
    start = next_local_midnight()
    shelved = await season(start, start + timedelta(days=14), code="shelved")
    await seasonal(shelved, "coupon", ["member"])
    await Season.filter(id=shelved.id).update(archived_at=factories.now())
    spring = await season(start, start + timedelta(days=14))
    gone = await seasonal(spring, "gone", ["member"])
    await Benefit.filter(id=gone.id).update(archived_at=factories.now())
    await member_on("member")

    assert (await switch_seasons(now=start)).granted == 0
    assert await BenefitGrant.all().count() == 0


async def test_two_runs_racing_grant_every_benefit_once():
    start = next_local_midnight()
    spring = await season(start, start + timedelta(days=14))
    await seasonal(spring, "coupon", ["silver", "gold"])
    await seasonal(spring, "gift", ["gold"], BenefitKind.BIRTHDAY_GIFT, {"description": "Tea"})
    members = [await member_on(code) for code in ("member", "silver", "gold") * 4]

    runs = await asyncio.gather(
        switch_seasons(now=start, batch_size=1), switch_seasons(now=start, batch_size=1)
    )

    eligible = 4 * 1 + 4 * 2  # silver: coupon; gold: coupon and gift
    assert sum(r.granted for r in runs) == eligible
    assert await BenefitGrant.all().count() == eligible
    for m in members:
        codes = [g[0] for g in await held(m)]
        assert len(codes) == len(set(codes))


async def test_a_season_end_expires_its_grants_and_leaves_used_ones_and_others_alone():
    start = next_local_midnight()
    end = start + timedelta(days=7)
    spring = await season(start, end)
    await seasonal(spring, "coupon", ["silver"])
    used, unused = await member_on("silver"), await member_on("silver")
    await switch_seasons(now=start)
    spent = await BenefitGrant.get(member_id=used.id)
    await use_benefit(member_id=used.id, grant_id=spent.id, now=start + timedelta(hours=1))
    tier_perk = await Benefit.create(code="ship", name="Ship", kind=BenefitKind.FREE_SHIPPING)
    await BenefitGrant.create(
        member=unused,
        benefit=tier_perk,
        source=GrantSource.TIER,
        source_ref="silver",
        valid_from=start,
    )

    running = await switch_seasons(now=end - timedelta(seconds=1), batch_size=1)
    ended = await switch_seasons(now=end, batch_size=1)
    again = await switch_seasons(now=end + timedelta(minutes=1))

    assert running.expired == 0
    assert (ended.expired, ended.ended) == (1, [spring.id])
    assert (again.expired, again.ended) == (0, [])
    assert await held(used) == [("coupon", "season", str(spring.id), GrantStatus.USED)]
    assert await held(unused) == [
        ("coupon", "season", str(spring.id), GrantStatus.EXPIRED),
        ("ship", "tier", "silver", GrantStatus.ACTIVE),
    ]
    expired = await BenefitGrant.get(member_id=unused.id, source=GrantSource.SEASON)
    assert expired.valid_to == end


async def test_a_member_promoted_mid_season_is_granted_in_the_promotion_s_transaction():
    now = factories.now()
    spring = await season(now - timedelta(days=1), now + timedelta(days=6))
    coupon = await seasonal(spring, "coupon", ["silver"])
    await seasonal(spring, "gold-only", ["gold"])
    ship = await Benefit.create(code="ship", name="Ship", kind=BenefitKind.FREE_SHIPPING)
    await TierBenefit.create(tier_code="silver", benefit=ship)
    climber = await factories.member()
    await switch_seasons(now=now + timedelta(minutes=1))  # the member was not eligible
    assert await held(climber) == []

    rehearsal = await event(climber, "purchase", amount="1000", dry_run=True)
    assert rehearsal.outcome["tierChange"] == {"from": "member", "to": "silver"}
    assert await BenefitGrant.all().count() == 0  # rolled back with the promotion

    await event(climber, "purchase", amount="1000")
    rerun = await switch_seasons(now=now + timedelta(minutes=2))

    assert rerun.granted == 0
    assert await held(climber) == [
        ("coupon", "season", str(spring.id), GrantStatus.ACTIVE),
        ("ship", "tier", "silver", GrantStatus.ACTIVE),
    ]
    told = await OutboxMessage.filter(topic="benefits.granted").order_by("id")
    grants = [g for m in told for g in m.payload["grants"]]
    assert {(g["code"], g["source"]) for g in grants} == {("ship", "tier"), ("coupon", "season")}
    assert all(m.payload["member_id"] == climber.id for m in told)
    grant = await BenefitGrant.get(member_id=climber.id, benefit_id=coupon.id)
    assert (grant.valid_from, grant.valid_to) == (spring.starts_at, spring.ends_at)
    assert set(
        await BenefitGrant.filter(member_id=climber.id).values_list("tier_code", flat=True)
    ) == {"silver"}


async def test_a_running_season_multiplies_the_points_of_the_tiers_it_names():
    now = factories.now()
    spring = await season(now - timedelta(days=1), now + timedelta(days=6))
    await seasonal(spring, "double", ["gold"], BenefitKind.POINTS_MULTIPLIER, {"factor": 2})
    await seasonal(spring, "triple-later", ["gold"], BenefitKind.POINTS_MULTIPLIER, {"factor": 1.5})
    past = await season(now - timedelta(days=30), now - timedelta(days=20), code="past")
    await seasonal(past, "tenfold", ["silver"], BenefitKind.POINTS_MULTIPLIER, {"factor": 10})
    silver, gold = await member_on("silver"), await member_on("gold")

    on_silver = await event(silver, "purchase", amount="100")
    on_gold = await event(gold, "purchase", amount="100")

    assert on_silver.outcome["points"] == 110  # the tier's 1.10 only: its season ended
    assert on_gold.outcome["points"] == 250  # 1.25 for Gold times the best season's 2


async def test_a_season_starting_at_local_midnight_is_switched_on_within_the_minute(settings):
    midnight = next_local_midnight()
    festival = await season(midnight, midnight + timedelta(days=3), code="festival")
    late = await season(midnight + timedelta(seconds=30), midnight + timedelta(days=3), code="late")
    await seasonal(festival, "coupon", ["member"])
    await seasonal(late, "lantern", ["member"])
    member = await member_on("member")
    job = JOBS["season_boundaries"]

    # Cron fires each job at second 0 of every minute, in the programme's time zone.
    eve = await run_job(job, settings=settings, clock=lambda: midnight - timedelta(minutes=1))
    tick = await run_job(job, settings=settings, clock=lambda: midnight)
    after = await run_job(job, settings=settings, clock=lambda: midnight + timedelta(minutes=1))

    assert eve is not None and eve["granted"] == 0
    assert tick is not None and (tick["granted"], tick["started"]) == (1, [festival.id])
    assert after is not None and (after["granted"], after["started"]) == (1, [late.id])
    assert [g[0] for g in await held(member)] == ["coupon", "lantern"]


async def test_a_deactivated_member_is_granted_nothing_until_reactivated():
    start = next_local_midnight()
    spring = await season(start, start + timedelta(days=14))
    coupon = await seasonal(spring, "coupon", ["member"])
    active, inactive = await member_on("member"), await member_on("member")
    admin = Actor(subject="test-admin", role="admin")
    await deactivate_member(member_id=inactive.id, reason="Closed", actor=admin, now=start)

    made = await switch_seasons(now=start)
    again = await switch_seasons(now=start + timedelta(minutes=1))

    assert (made.granted, again.granted) == (1, 0)
    assert await held(inactive) == []
    # Reactivated mid-season: the running season's benefits at once (the sweep passed by).
    await reactivate_member(member_id=inactive.id, actor=admin, now=start + timedelta(days=1))
    assert (
        await held(inactive)
        == await held(active)
        == [(coupon.code, "season", str(spring.id), GrantStatus.ACTIVE)]
    )
