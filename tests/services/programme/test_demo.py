"""The demo programme, on SQLite and PostgreSQL: what it loads, that its facts agree, and
what a new user sees of it over GraphQL."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime

import httpx
import pytest

from app.auth import Role
from app.config import Settings
from app.models import (
    Benefit,
    BenefitGrant,
    Event,
    GrowthTask,
    Leaderboard,
    LeaderboardScore,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    OutboxMessage,
    PointsLedgerEntry,
    Season,
    Tier,
    TierBenefit,
    TierChange,
)
from app.services.points.ledger import balance_mismatches
from app.services.programme.demo import (
    DEMO_AT_RISK,
    DEMO_LADDER,
    DEMO_NEAR_PROMOTION,
    DEMO_TIER_BENEFITS,
    load_demo,
)
from app.services.rules.catalogue import rule_views
from app.services.tiers.calibration import suggest_thresholds
from app.services.tiers.ladder import tiers_in_force
from gamification.activity.engine import STREAK_LAST_DAY
from gamification.leaderboards import Metric, periods_at
from gamification.shared.calendar import local_day
from gamification.tiers.ladder import promotion_target, tier_for_growth
from tests import factories
from tests.factories import bearer, operation
from tests.operations import payload

# A load runs a few hundred events through the engine; this catches a demo grown far too
# slow for `make run`, with room for a loaded CI machine (it takes 2-4 s here).
LOAD_BUDGET_SECONDS = 20


@pytest.mark.usefixtures("orm")
async def test_the_demo_loads_a_four_tier_ladder_and_200_members():
    started = time.monotonic()
    result = await load_demo(now=factories.now())
    elapsed = time.monotonic() - started

    assert result.loaded and result.members == 200
    tiers = await tiers_in_force(now=factories.now())
    assert [t.name for t in tiers] == ["Member", "Silver", "Gold", "Platinum"]
    assert await Member.all().count() == 200
    assert elapsed < LOAD_BUDGET_SECONDS


@pytest.mark.usefixtures("orm")
async def test_demo_balances_are_backed_by_the_ledger_and_tiers_match_growth():
    await load_demo(now=factories.now())

    assert await balance_mismatches() == []
    tiers = {t.id: t for t in await Tier.all()}
    members = await Member.all()
    facts: dict[int, dict[str, int]] = defaultdict(dict)
    for fact in await MemberFact.all():
        facts[fact.member_id][fact.key] = fact.value
    at_risk = {code for code, *_ in DEMO_AT_RISK}
    for member in members:
        held = tiers[member.tier_id]
        if member.external_id in at_risk:
            # Holds the tier one above what its growth earns, below the line that keeps it.
            assert held.rank == tier_for_growth(DEMO_LADDER, member.growth).rank + 1
            assert member.growth < held.retention_threshold
        else:
            # The tier the engine would promote to from the base tier, requirements and all.
            earned = promotion_target(
                DEMO_LADDER,
                current=DEMO_LADDER[0],
                growth=member.growth,
                facts=facts[member.id],
            )
            assert held.code == earned.code == tier_for_growth(DEMO_LADDER, member.growth).code
        assert 0 <= member.points_balance <= member.lifetime_points
    # Every tier is populated, most members at the bottom: a plausible programme.
    counts = {
        code: sum(tiers[m.tier_id].code == code for m in members)
        for code in ("member", "silver", "gold", "platinum")
    }
    assert counts["member"] > counts["silver"] > counts["gold"] > counts["platinum"] > 0
    assert await TierChange.filter(member_id=members[0].id).exists()


@pytest.mark.usefixtures("orm")
async def test_the_demo_facts_agree_with_the_tables_beside_them():
    now = factories.now()
    await load_demo(now=now, zone=factories.ZONE)

    members = await Member.all()
    # The all-time points board holds every member's lifetime points, history included.
    lifetime = next(
        span.key
        for span in periods_at(now, zone=factories.ZONE, seasons=[])
        if span.starts_at is None
    )
    scores = {
        (s.metric, s.member_id): s.score for s in await LeaderboardScore.filter(period_key=lifetime)
    }
    for member in members:
        assert scores[Metric.POINTS_EARNED.value, member.id] == member.lifetime_points
        assert scores[Metric.GROWTH.value, member.id] == member.growth
    # Active days: one per local day with an event, and the streak fact names the last.
    event_days: dict[int, set[int]] = defaultdict(set)
    for event in await Event.all():
        event_days[event.member_id].add(
            local_day(event.occurred_at, zone=factories.ZONE).toordinal()
        )
    active_days: dict[int, set[int]] = defaultdict(set)
    for row in await MemberActiveDay.all():
        active_days[row.member_id].add(row.day.toordinal())
    assert active_days == event_days
    assert len(event_days) > 100
    last_day = {f.member_id: f.value for f in await MemberFact.filter(key=STREAK_LAST_DAY)}
    assert last_day == {member_id: max(days) for member_id, days in active_days.items()}


async def _counts() -> dict[str, int]:
    return {
        model.__name__: await model.all().count()
        for model in (
            Member,
            Event,
            PointsLedgerEntry,
            LeaderboardScore,
            BenefitGrant,
            Benefit,
            TierBenefit,
            Season,
            GrowthTask,
            Leaderboard,
            MemberBadge,
            OutboxMessage,
        )
    }


@pytest.mark.usefixtures("orm")
async def test_loading_the_demo_again_changes_nothing():
    await load_demo(now=factories.now())
    before = await _counts()

    again = await load_demo(now=factories.now())

    assert not again.loaded
    assert await _counts() == before
    assert len(await tiers_in_force(now=factories.now())) == 4


@pytest.mark.usefixtures("orm")
async def test_the_demo_tasks_work_end_to_end():
    from tests.factories import event

    await load_demo(now=factories.now())
    # One of the members the replayed activity leaves alone: nothing done today yet.
    member = await Member.get(external_id=DEMO_NEAR_PROMOTION[0][0])

    checked_in = await event(member, "check_in")

    assert [t["code"] for t in checked_in.outcome["tasksCompleted"]] == ["daily-check-in"]


@pytest.mark.usefixtures("orm")
async def test_the_demo_has_recent_activity_to_calibrate_thresholds_on():
    await load_demo(now=factories.now(), zone=factories.ZONE)

    found = await suggest_thresholds(
        shares=[0.4, 0.15, 0.03], now=factories.now(), zone=factories.ZONE
    )
    assert 100 <= found.active_members < 200
    assert len(found.suggestions) == 3
    thresholds = [s.threshold for s in found.suggestions]
    assert thresholds == sorted(thresholds) and thresholds[0] > 0


# What a new user sees after `make run`, through the client operations.


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _member_id(client: httpx.AsyncClient, external_id: str) -> str:
    data = await operation(client, "MemberByExternalId", externalId=external_id)
    member_id: str = data["memberByExternalId"]["id"]
    return member_id


async def test_a_new_user_sees_boards_with_entries_and_a_running_season(
    client: httpx.AsyncClient, settings: Settings
):
    now = factories.now()
    await load_demo(now=now, zone=settings.zone)

    seasons = await operation(client, "Seasons")
    [season] = [edge["node"] for edge in seasons["seasons"]["edges"]]
    assert _parse(season["startsAt"]) <= now < _parse(season["endsAt"])
    assert not season["archived"]
    tasks = await operation(client, "GrowthTasks", first=50)
    seasonal = [e["node"] for e in tasks["growthTasks"]["edges"] if e["node"]["seasonId"]]
    assert len(seasonal) >= 2 and all(t["seasonId"] == season["id"] for t in seasonal)

    boards = await operation(client, "Leaderboards")
    by_period = {edge["node"]["period"]: edge["node"] for edge in boards["leaderboards"]["edges"]}
    assert set(by_period) == {"ALL_TIME", "WEEK", "SEASON"}
    assert by_period["SEASON"]["seasonId"] == season["id"]
    # A member looks at each board: entries, in order, and where it stands.
    top = await operation(client, "LeaderboardTop", code=by_period["ALL_TIME"]["code"], first=1)
    best = max(m.lifetime_points for m in await Member.all())
    assert top["leaderboard"]["size"] == 200
    assert top["leaderboard"]["entries"]["edges"][0]["node"]["score"] == best
    member = (await Event.all().order_by("-occurred_at").first()).member_id  # active this week
    as_member = bearer(settings, Role.MEMBER, member_id=member)
    for board in by_period.values():
        response = await client.post(
            "/graphql",
            json=payload("Leaderboard", code=board["code"], first=5),
            headers=as_member,
        )
        body = response.json()
        assert "errors" not in body, body
        shown = body["data"]["leaderboard"]
        entries = [edge["node"] for edge in shown["entries"]["edges"]]
        assert len(entries) == 5, board["code"]
        assert [e["rank"] for e in entries] == [1, 2, 3, 4, 5]
        assert [e["score"] for e in entries] == sorted((e["score"] for e in entries), reverse=True)
        assert shown["periodKey"] and shown["me"] is not None and shown["me"]["rank"] >= 1


async def test_a_new_user_sees_the_benefits_matrix_and_members_hold_their_grants(
    client: httpx.AsyncClient, settings: Settings
):
    await load_demo(now=factories.now(), zone=settings.zone)

    matrix = await operation(client, "TierBenefits")
    rows = {row["tierCode"]: [b["code"] for b in row["benefits"]] for row in matrix["tierBenefits"]}
    assert {tier: set(codes) for tier, codes in rows.items()} == {
        tier: set(codes) for tier, codes in DEMO_TIER_BENEFITS.items()
    }
    catalogue = await operation(client, "BenefitsCatalogue", first=50)
    assert len(catalogue["benefitsCatalogue"]["edges"]) >= len(
        {code for codes in DEMO_TIER_BENEFITS.values() for code in codes}
    )
    seasons = await operation(client, "Seasons")
    season_id = seasons["seasons"]["edges"][0]["node"]["id"]
    seasonal = await operation(client, "SeasonalBenefits", seasonId=season_id)
    for_tiers = {
        row["benefit"]["code"]: set(row["tierCodes"]) for row in seasonal["seasonalBenefits"]
    }
    assert len(for_tiers) >= 2
    assert any(tiers == {"member", "silver", "gold", "platinum"} for tiers in for_tiers.values())
    assert any("member" not in tiers for tiers in for_tiers.values())

    # Every member holds the benefits of its tier's row, and the seasonal ones its tier gets.
    gold = await Member.filter(tier__code="gold").order_by("id").first()
    assert gold is not None
    held = await operation(client, "MemberBenefits", id=await _member_id(client, gold.external_id))
    grants = held["member"]["benefits"]
    tier_grants = {g["benefit"]["code"] for g in grants if g["source"] == "TIER"}
    season_grants = {g["benefit"]["code"] for g in grants if g["source"] == "SEASON"}
    assert tier_grants == set(DEMO_TIER_BENEFITS["gold"])
    assert season_grants == {code for code, tiers in for_tiers.items() if "gold" in tiers}
    assert all(g["status"] == "ACTIVE" for g in grants)


async def test_a_new_user_finds_badge_levels_members_at_risk_and_near_promotion(
    client: httpx.AsyncClient, settings: Settings
):
    await load_demo(now=factories.now(), zone=settings.zone)

    # Badges: several levels each, and some members already hold levels of them.
    badges = await operation(client, "Badges", first=50)
    levels = {e["node"]["code"]: len(e["node"]["thresholds"]) for e in badges["badges"]["edges"]}
    assert all(n >= 1 for n in levels.values()) and sum(n >= 3 for n in levels.values()) >= 3
    holder = await MemberBadge.all().order_by("id").first()
    assert holder is not None
    progress = await operation(
        client, "MemberProgress", id=await _member_id(client, (await holder.member).external_id)
    )
    shown = progress["member"]["badges"]
    assert all(b["levels"] >= 1 for b in shown)
    assert any(b["level"] >= 1 and b["levels"] == 3 and b["levelName"] for b in shown)
    assert progress["member"]["tasks"], "a member sees tasks to do"

    # At risk: the staff report and the member's own view agree.
    report = await operation(client, "MembersAtRisk")
    listed = {e["node"]["displayName"] for e in report["membersAtRisk"]["edges"]}
    for external_id, tier, _ in DEMO_AT_RISK:
        data = await operation(client, "MemberByExternalId", externalId=external_id)
        member = data["memberByExternalId"]
        assert member["tier"]["code"] == tier
        assert member["tierProgress"]["atRisk"] and member["tierProgress"]["retentionGap"] > 0
        assert member["displayName"] in listed
    # Near promotion: most of the way to the next tier, a small gap left.
    for external_id, tier, _ in DEMO_NEAR_PROMOTION:
        data = await operation(client, "MemberByExternalId", externalId=external_id)
        member = data["memberByExternalId"]
        assert member["tier"]["code"] == tier
        assert member["tierProgress"]["percent"] >= 90
        assert (
            0
            < member["tierProgress"]["growthToNext"]
            <= 0.1 * member["tierProgress"]["next"]["entryThreshold"]
        )
        assert not member["tierProgress"]["atRisk"]


@pytest.mark.usefixtures("orm")
async def test_the_demo_runs_a_weekend_campaign_with_a_budget_and_a_shoe_bonus():
    await load_demo(now=factories.now())

    rules = {v.rule.code: v for v in await rule_views(now=factories.now())}
    awarded = await PointsLedgerEntry.filter(rule_id__not_isnull=True).count()

    assert set(rules) == {"weekend-double", "shoe-bonus"}
    assert rules["weekend-double"].use.points_left is not None
    assert rules["weekend-double"].use.points + rules["weekend-double"].use.points_left == 20_000
    assert awarded == sum(v.use.awards for v in rules.values()) > 0
    assert await balance_mismatches() == []
