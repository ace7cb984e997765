"""The scheduled tier evaluation: warnings ahead of it, one-tier demotions at it, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.transactions import in_transaction

from app.models import (
    Benefit,
    BenefitGrant,
    Member,
    Notification,
    OutboxMessage,
    Tier,
    TierBenefit,
    TierChange,
    TierChangeReason,
    TierEvaluation,
)
from app.services.benefits.grants import grant_tier_benefits
from app.services.jobs.schedule import JOBS, run_job
from app.services.members.lifecycle import deactivate_member
from app.services.notifications.outbox import OutboxEntry
from app.services.notifications.updates import UpdateKind, updates_of
from app.services.shared.audit import Actor
from app.services.tiers.evaluation import (
    EvaluationPolicy,
    apply_evaluation,
    evaluate_tiers,
)
from app.services.tiers.ladder import publish_ladder
from gamification.benefits import BenefitKind, GrantStatus
from gamification.shared.calendar import Window
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
ADMIN = Actor(subject="test-admin", role="admin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = EvaluationPolicy(zone=SHANGHAI)


def local(*args: int, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


async def programme() -> dict[str, Tier]:
    """The default ladder (Member < Silver 1,000/800 < Gold 5,000/4,000), in force since
    2020 so that any evaluation date of the tests falls under it."""
    version = await publish_ladder(
        tiers=factories.LADDER,
        effective_at=datetime(2020, 1, 1, tzinfo=UTC),
        now=datetime(2020, 1, 1, tzinfo=UTC),
    )
    return {t.code: t for t in await Tier.filter(ladder_version_id=version.id)}


async def member_on(tier: Tier, growth: int) -> Member:
    member = await factories.member()
    await Member.filter(id=member.id).update(tier_id=tier.id, growth=growth)
    return member


async def tier_of(member: Member) -> str:
    return (await Member.get(id=member.id).prefetch_related("tier")).tier.code


async def notices(member: Member, kind: str) -> list[Notification]:
    return await Notification.filter(member_id=member.id, kind=kind).order_by("id")


async def test_members_below_retention_are_warned_once_with_exactly_what_keeps_the_tier():
    tiers = await programme()
    at_risk = await member_on(tiers["gold"], 3_000)  # Gold is kept at 4,000
    safe = await member_on(tiers["silver"], 800)  # exactly at retention
    base = await member_on(tiers["member"], 0)

    # Eight days before the evaluation of 1 December: not yet.
    early = await evaluate_tiers(policy=POLICY, now=local(2026, 11, 23, 0, 30))
    # Seven days before (LAUREL_EVALUATION_WARNING_DAYS), and again the next days.
    first = await evaluate_tiers(policy=POLICY, now=local(2026, 11, 24, 0, 30))
    again = await evaluate_tiers(policy=POLICY, now=local(2026, 11, 25, 0, 30))

    assert early["warned"] == 0 and early["warned_for"] is None
    assert (first["warned_for"], first["warned"], again["warned"]) == ("2026-12-01", 1, 0)
    [warning] = await notices(at_risk, "tier_warning")
    assert warning.title == "Keep your Gold tier"
    assert warning.body == (
        "Collect 1000 more growth before 1 December 2026 to keep Gold (4000 growth keeps it). "
        "Otherwise you move down to Silver at that evaluation."
    )
    assert warning.data == {
        "from": "gold",
        "to": "silver",
        "evaluation": "2026-12-01",
        "retention": 4000,
        "deadline": "2026-12-01",
        "missing": 1000,
    }
    assert not await notices(safe, "tier_warning") and not await notices(base, "tier_warning")
    assert await tier_of(at_risk) == "gold"  # a warning demotes nobody


async def test_a_deactivated_member_is_neither_warned_nor_demoted_while_inactive():
    tiers = await programme()
    inactive = await member_on(tiers["gold"], 3_000)
    active = await member_on(tiers["gold"], 3_000)
    await deactivate_member(
        member_id=inactive.id, reason="Closed", actor=ADMIN, now=factories.now()
    )

    warned = await evaluate_tiers(policy=POLICY, now=local(2026, 11, 24, 0, 30))
    demoted = await evaluate_tiers(policy=POLICY, now=local(2026, 12, 1, 0, 30))

    assert (warned["warned"], demoted["demoted"]) == (1, 1)
    assert not await notices(inactive, "tier_warning")
    assert not await notices(inactive, "tier_down")
    assert await tier_of(inactive) == "gold" and await tier_of(active) == "silver"
    told = await OutboxMessage.filter(topic="tier.warned")
    assert [m.payload["member_id"] for m in told] == [active.id]


async def test_a_member_falling_below_retention_during_the_warning_period_is_warned_then():
    tiers = await programme()
    later = await member_on(tiers["silver"], 900)
    await evaluate_tiers(policy=POLICY, now=local(2026, 11, 24, 0, 30))
    await Member.filter(id=later.id).update(growth=650)  # e.g. a returned purchase
    await evaluate_tiers(policy=POLICY, now=local(2026, 11, 27, 0, 30))

    [warning] = await notices(later, "tier_warning")
    assert warning.body.startswith("Collect 150 more growth before 1 December 2026 to keep Silver")


async def test_the_evaluation_demotes_members_below_retention_by_one_tier_only():
    tiers = await programme()
    gold_short = await member_on(tiers["gold"], 3_000)
    gold_far_below = await member_on(tiers["gold"], 100)  # below Silver's retention too
    silver_short = await member_on(tiers["silver"], 500)
    gold_kept = await member_on(tiers["gold"], 4_000)
    silver_kept = await member_on(tiers["silver"], 4_500)
    base = await member_on(tiers["member"], 0)

    result = await evaluate_tiers(policy=POLICY, now=local(2026, 12, 1, 0, 30))

    assert result["evaluation"] == "2026-12-01" and result["demoted"] == 3
    assert [await tier_of(m) for m in (gold_short, gold_far_below, silver_short)] == [
        "silver",
        "silver",
        "member",
    ]
    assert [await tier_of(m) for m in (gold_kept, silver_kept, base)] == [
        "gold",
        "silver",
        "member",
    ]
    changes = await TierChange.filter(reason=TierChangeReason.DEMOTION).order_by("member_id")
    assert [(c.member_id, c.from_tier_id, c.to_tier_id) for c in changes] == [
        (gold_short.id, tiers["gold"].id, tiers["silver"].id),
        (gold_far_below.id, tiers["gold"].id, tiers["silver"].id),
        (silver_short.id, tiers["silver"].id, tiers["member"].id),
    ]
    [notice] = await notices(gold_short, "tier_down")
    assert notice.title == "You are now Silver"
    assert notice.body == (
        "Your growth was below the 4000 that keeps Gold at the evaluation of 1 December 2026, "
        "so you moved down to Silver. Reach 5000 growth to move back up."
    )
    assert not await notices(gold_kept, "tier_down")


async def test_a_rerun_and_the_following_days_change_nothing():
    tiers = await programme()
    member = await member_on(tiers["gold"], 100)
    at = local(2026, 12, 1, 0, 30)
    await evaluate_tiers(policy=POLICY, now=at)
    counts = [await M.all().count() for M in (TierChange, Notification, OutboxMessage)]

    again = await evaluate_tiers(policy=POLICY, now=at + timedelta(minutes=5))
    next_day = await evaluate_tiers(policy=POLICY, now=at + timedelta(days=1))
    # Even the evaluation applied by hand again: the date is finished.
    by_hand = await apply_evaluation(
        evaluated=at.astimezone(SHANGHAI).date(), policy=POLICY, now=at + timedelta(hours=2)
    )

    assert again["demoted"] == next_day["demoted"] == by_hand == 0
    assert await tier_of(member) == "silver"  # not Member: one tier per evaluation
    assert [await M.all().count() for M in (TierChange, Notification, OutboxMessage)] == counts


async def test_two_concurrent_runs_demote_each_member_once():
    tiers = await programme()
    members = [await member_on(tiers["gold"], 100) for _ in range(12)]
    at = local(2026, 12, 1, 0, 30)

    results = await asyncio.gather(
        *(
            apply_evaluation(
                evaluated=at.astimezone(SHANGHAI).date(), policy=POLICY, now=at, batch_size=3
            )
            for _ in range(2)
        )
    )

    assert sum(results) == 12
    assert {await tier_of(m) for m in members} == {"silver"}
    assert await TierChange.filter(reason=TierChangeReason.DEMOTION).count() == 12
    assert await Notification.filter(kind="tier_down").count() == 12


async def test_a_run_killed_between_batches_is_completed_by_the_next_without_repeats():
    tiers = await programme()
    members = [await member_on(tiers["gold"], 3_000) for _ in range(10)]
    at = local(2026, 12, 1, 0, 30)
    day = at.astimezone(SHANGHAI).date()
    beats = 0

    async def dies_after_two_batches() -> None:
        nonlocal beats
        beats += 1
        if beats == 2:
            raise asyncio.CancelledError  # what SIGTERM does to a running arq job

    with pytest.raises(asyncio.CancelledError):
        await apply_evaluation(
            evaluated=day, policy=POLICY, now=at, heartbeat=dies_after_two_batches, batch_size=3
        )
    half_done = sum([await tier_of(m) == "silver" for m in members])
    resumed = await apply_evaluation(evaluated=day, policy=POLICY, now=at, batch_size=3)

    assert 0 < half_done < 10 and resumed == 10 - half_done
    assert {await tier_of(m) for m in members} == {"silver"}
    assert await TierChange.filter(reason=TierChangeReason.DEMOTION).count() == 10
    evaluation = await TierEvaluation.get(evaluation="2026-12-01")
    assert evaluation.finished_at is not None and evaluation.demoted == 10


@pytest.mark.parametrize(
    ("zone", "day_of_month", "evaluated"),
    [
        ("Asia/Shanghai", 31, (2026, 11, 30)),  # 31 means the last day of shorter months
        ("Asia/Shanghai", 30, (2027, 2, 28)),
        ("America/New_York", 1, (2026, 11, 1)),  # DST ends at 02:00 that day
        ("Europe/Berlin", 29, (2026, 3, 29)),  # DST starts at 02:00 that day
    ],
)
async def test_the_evaluation_runs_on_its_local_date(zone, day_of_month, evaluated):
    tiers = await programme()
    member = await member_on(tiers["gold"], 100)
    policy = EvaluationPolicy(zone=ZoneInfo(zone), day_of_month=day_of_month)
    midnight = local(*evaluated, zone=ZoneInfo(zone))

    warned = await evaluate_tiers(policy=policy, now=midnight - timedelta(days=2))
    before = await evaluate_tiers(policy=policy, now=midnight - timedelta(seconds=1))
    assert await tier_of(member) == "gold"
    at = await evaluate_tiers(policy=policy, now=midnight + timedelta(minutes=30))

    day = datetime(*evaluated).date()
    assert warned["warned_for"] == day.isoformat() and warned["warned"] == 1
    assert before["evaluation"] != day.isoformat()
    assert at["evaluation"] == day.isoformat() and at["demoted"] == 1
    assert await tier_of(member) == "silver"
    [warning] = await notices(member, "tier_warning")
    assert f"before {day.day} {day:%B %Y}" in warning.body


async def test_a_grace_period_delays_the_demotion_and_the_warning_says_so():
    tiers = await programme()
    member = await member_on(tiers["gold"], 3_000)
    policy = EvaluationPolicy(zone=SHANGHAI, grace_days=3)

    await evaluate_tiers(policy=policy, now=local(2026, 11, 26, 0, 30))
    on_the_day = await evaluate_tiers(policy=policy, now=local(2026, 12, 1, 0, 30))
    assert await tier_of(member) == "gold" and on_the_day["evaluation"] is None
    after_grace = await evaluate_tiers(policy=policy, now=local(2026, 12, 4, 0, 30))

    assert after_grace["evaluation"] == "2026-12-01" and after_grace["demoted"] == 1
    assert await tier_of(member) == "silver"
    [warning] = await notices(member, "tier_warning")
    assert "before 4 December 2026" in warning.body


async def benefit_of(tier_code: str) -> Benefit:
    benefit = await Benefit.create(
        code=f"{tier_code}-lounge", name=f"{tier_code} lounge", kind=BenefitKind.PRIORITY_SERVICE
    )
    await TierBenefit.create(tier_code=tier_code, benefit=benefit)
    return benefit


@pytest.mark.parametrize("keep_days", [0, 3])
async def test_the_benefits_of_the_tier_left_end_and_those_of_the_tier_kept_stay(keep_days):
    tiers = await programme()
    member = await member_on(tiers["gold"], 3_000)
    gold, silver = await benefit_of("gold"), await benefit_of("silver")
    async with in_transaction() as conn:
        for code in ("silver", "gold"):
            await grant_tier_benefits(
                conn, member_id=member.id, tier_code=code, now=local(2026, 6, 1)
            )
    at = local(2026, 12, 1, 0, 30)
    policy = EvaluationPolicy(zone=SHANGHAI, demoted_benefits_keep_days=keep_days)

    await evaluate_tiers(policy=policy, now=at)

    gold_grant = await BenefitGrant.get(member_id=member.id, benefit_id=gold.id)
    silver_grant = await BenefitGrant.get(member_id=member.id, benefit_id=silver.id)
    assert gold_grant.valid_to == at + timedelta(days=keep_days)
    assert gold_grant.status is (GrantStatus.ACTIVE if keep_days else GrantStatus.EXPIRED)
    assert (silver_grant.status, silver_grant.valid_to) == (GrantStatus.ACTIVE, None)


@pytest.mark.parametrize("keep_days", [0, 30])
async def test_a_member_who_climbs_back_holds_the_tiers_benefits_again(keep_days):
    """Promoted, demoted by the evaluation, promoted again: the tier's benefits come back,
    a new grant beside the old one's history, or the kept grant running on."""
    await programme()
    lounge = await benefit_of("silver")
    # Each local day's first check-in is worth a tier of growth.
    await factories.task(window=Window.DAY, reward_growth=1_000, reward_points=0)
    member = await factories.member(joined_at=local(2026, 11, 1))
    first = local(2026, 11, 20, 12)
    await factories.event(member, at=first, now=first)
    assert await tier_of(member) == "silver"
    await Member.filter(id=member.id).update(growth=100)  # below Silver's 800 to keep it
    policy = EvaluationPolicy(zone=SHANGHAI, demoted_benefits_keep_days=keep_days)
    await evaluate_tiers(policy=policy, now=local(2026, 12, 1, 0, 30))
    assert await tier_of(member) == "member"

    back = local(2026, 12, 3, 12)
    await factories.event(member, at=back, now=back, key="back")
    await factories.event(member, at=back, now=back, key="back")  # a retry grants nothing
    assert await tier_of(member) == "silver"

    grants = await BenefitGrant.filter(member_id=member.id, benefit_id=lounge.id).order_by("id")
    if keep_days:
        # Still running out when the member came back: it runs on, no second grant.
        assert [(g.source_ref, g.status, g.valid_to) for g in grants] == [
            ("silver", GrantStatus.ACTIVE, None)
        ]
    else:
        promotion = await TierChange.filter(member_id=member.id).order_by("-id").first()
        assert promotion is not None and promotion.changed_at == back
        assert [(g.source_ref, g.status) for g in grants] == [
            ("silver", GrantStatus.EXPIRED),
            (f"silver@{promotion.id}", GrantStatus.ACTIVE),
        ]
        assert grants[1].valid_from == back and grants[1].valid_to is None
        # Demoted again: the new stay's grant ends like the first.
        await Member.filter(id=member.id).update(growth=100)
        await evaluate_tiers(policy=policy, now=local(2027, 1, 1, 0, 30))
        assert (
            await BenefitGrant.filter(
                member_id=member.id, benefit_id=lounge.id, status=GrantStatus.ACTIVE
            ).count()
            == 0
        )


async def test_demotions_reach_pushes_and_the_leaderboard_index_through_the_outbox():
    tiers = await programme()
    member = await member_on(tiers["gold"], 3_000)
    await evaluate_tiers(policy=POLICY, now=local(2026, 12, 1, 0, 30))

    [row] = await OutboxMessage.filter(topic="leaderboard.member_changed")
    assert row.payload["member_id"] == member.id
    assert row.payload["tierChange"] == {"from": "gold", "to": "silver"}
    entry = OutboxEntry(id=row.id, topic=row.topic, payload=row.payload, created_at=row.created_at)
    [update] = updates_of(entry)
    assert (update.member_id, update.kind) == (member.id, UpdateKind.TIER_CHANGED)
    assert update.data == {"from": "gold", "to": "silver"}


async def test_the_scheduled_job_runs_at_the_configured_local_time(settings):
    tiers = await programme()
    member = await member_on(tiers["gold"], 3_000)
    settings = settings.model_copy(update={"evaluation_time": datetime(2000, 1, 1, 2, 0).time()})
    job = JOBS["tier_evaluation"]

    too_early = await run_job(job, settings=settings, clock=lambda: local(2026, 12, 1, 1, 0))
    due = await run_job(job, settings=settings, clock=lambda: local(2026, 12, 1, 2, 0))

    assert too_early is None and due is not None and due["demoted"] == 1
    assert await tier_of(member) == "silver"


async def test_a_rerun_that_lost_its_cursor_still_demotes_nobody_twice():
    tiers = await programme()
    member = await member_on(tiers["gold"], 100)  # below Silver's retention too
    at = local(2026, 12, 1, 0, 30)
    day = at.astimezone(SHANGHAI).date()
    await apply_evaluation(evaluated=day, policy=POLICY, now=at)
    # As if the cursor had not been committed with the batch: the whole date again.
    await TierEvaluation.filter(evaluation="2026-12-01").update(next_member_id=0, finished_at=None)

    again = await apply_evaluation(evaluated=day, policy=POLICY, now=at)

    assert again == 0 and await tier_of(member) == "silver"
    assert await TierChange.filter(reason=TierChangeReason.DEMOTION).count() == 1
