"""The demo programme: a four-tier ladder, growth tasks, badges and 200 members.

Loaded by ``make run`` into an empty database (and by ``laurel demo``); loading again is a
no-op. Every member's balance is backed by ledger rows, so the demo obeys the same
invariants as real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.models import (
    Badge,
    GrowthTask,
    LadderVersion,
    Member,
    MemberActiveDay,
    PointsLedgerEntry,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.ladder import publish_ladder
from gamification.badges import BadgeMetric
from gamification.calendar import Window, local_day
from gamification.ladder import TierRule, tier_for_growth
from gamification.points import LedgerKind, LedgerSource
from gamification.tasks import Condition

DEMO_LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00"), benefits=("Member prices",)),
    TierRule(
        "silver",
        "Silver",
        1,
        1_000,
        800,
        Decimal("1.10"),
        benefits=("Free shipping", "10% more points"),
    ),
    TierRule(
        "gold",
        "Gold",
        2,
        5_000,
        4_000,
        Decimal("1.25"),
        requirements=(("events:purchase", 2),),
        benefits=("Free shipping", "25% more points", "Priority service"),
    ),
    TierRule(
        "platinum",
        "Platinum",
        3,
        20_000,
        16_000,
        Decimal("1.50"),
        requirements=(("events:purchase", 5),),
        benefits=(
            "Free express shipping",
            "50% more points",
            "Priority service",
            "Exclusive events",
        ),
    ),
)

# The growth tasks of the demo: (code, name, event type, condition, target, window,
# per-window limit, cap, reward points, reward growth, reward badge).
DEMO_TASKS = (
    (
        "daily-check-in",
        "Daily check-in",
        "check_in",
        Condition.COUNT,
        1,
        Window.DAY,
        1,
        None,
        5,
        0,
        None,
    ),
    (
        "check-in-streak-7",
        "Check in 7 days in a row",
        "check_in",
        Condition.STREAK,
        7,
        Window.LIFETIME,
        None,
        None,
        100,
        50,
        "on-fire",
    ),
    (
        "spend-500-week",
        "Spend 500 in a week",
        "purchase",
        Condition.SUM,
        500,
        Window.WEEK,
        1,
        None,
        200,
        0,
        None,
    ),
    (
        "refer-3",
        "Refer 3 friends",
        "referral",
        Condition.COUNT,
        3,
        Window.LIFETIME,
        1,
        1,
        300,
        100,
        None,
    ),
    (
        "complete-profile",
        "Complete your profile",
        "profile_completed",
        Condition.COUNT,
        1,
        Window.LIFETIME,
        1,
        1,
        50,
        0,
        None,
    ),
)
# (code, name, metric, subject, thresholds, hidden)
DEMO_BADGES = (
    ("on-fire", "On fire", BadgeMetric.TASK_COMPLETED, "check-in-streak-7", [1], False),
    ("task-master", "Task master", BadgeMetric.TASKS_COMPLETED, None, [5, 25, 100], False),
    ("big-spender", "Big spender", BadgeMetric.EVENTS, "purchase", [5, 20, 50], False),
    ("streaker", "Streaker", BadgeMetric.STREAK_DAYS, None, [3, 7, 30], False),
    ("top-tier", "Top tier", BadgeMetric.TIER_REACHED, None, [3], True),
)
DEMO_MEMBER_COUNT = 200
# The zone of the demo's local days when the caller names none.
DEMO_ZONE = ZoneInfo("UTC")
_FIRST = "Ada Bo Chen Dana Eli Fang Gus Hana Ivo Jun Kai Lea Mei Nia Oto Pia Qi Rui Sol Tao".split()
_LAST = "Ng Li Park Silva Kim Wang Novak Ito Costa Lund Haas Zhou Reyes Sato Berg Okafor".split()


@dataclass(frozen=True, slots=True)
class DemoLoad:
    loaded: bool
    members: int


async def load_demo(*, now: datetime, zone: ZoneInfo = DEMO_ZONE, seed: int = 2026) -> DemoLoad:
    """Load the demo programme unless the database already holds a ladder or members."""
    if await LadderVersion.exists() or await Member.exists():
        return DemoLoad(loaded=False, members=await Member.all().count())
    rng = random.Random(seed)
    launch = now - timedelta(days=2 * 365)
    async with in_transaction() as conn:
        version = await publish_ladder(
            tiers=DEMO_LADDER,
            effective_at=launch,
            now=launch,
            notes="Demo programme",
            using_db=conn,
        )
        tiers = await Tier.filter(ladder_version_id=version.id).using_db(conn).order_by("rank")
        stored = await _load_members(
            conn, rng=rng, version=version, tiers=tiers, launch=launch, now=now
        )
        await _load_active_days(conn, rng=rng, members=stored, today=local_day(now, zone=zone))
        await _load_tasks_and_badges(conn)
    return DemoLoad(loaded=True, members=len(stored))


async def _load_tasks_and_badges(conn: BaseDBAsyncClient) -> None:
    await GrowthTask.bulk_create(
        [
            GrowthTask(
                code=code,
                name=name,
                event_type=event_type,
                condition=condition,
                target=target,
                window=window,
                per_window_limit=per_window,
                cap=cap,
                reward_points=points,
                reward_growth=growth,
                reward_badge=badge,
            )
            for (
                code,
                name,
                event_type,
                condition,
                target,
                window,
                per_window,
                cap,
                points,
                growth,
                badge,
            ) in DEMO_TASKS
        ],
        using_db=conn,
    )
    await Badge.bulk_create(
        [
            Badge(
                code=code,
                name=name,
                metric=metric,
                subject=subject,
                thresholds=thresholds,
                hidden=hidden,
            )
            for code, name, metric, subject, thresholds, hidden in DEMO_BADGES
        ],
        using_db=conn,
    )


async def _load_active_days(
    conn: BaseDBAsyncClient, *, rng: random.Random, members: list[Member], today: date
) -> None:
    """Recent activity, so that threshold calibration has active members to read: seven in
    ten members were active on a few of the last 60 local days."""
    days = [
        MemberActiveDay(member_id=member.id, day=today - timedelta(days=ago))
        for member in members
        if rng.random() < 0.7
        for ago in rng.sample(range(60), k=rng.randint(1, 8))
    ]
    await MemberActiveDay.bulk_create(days, using_db=conn)


async def _load_members(
    conn: BaseDBAsyncClient,
    *,
    rng: random.Random,
    version: LadderVersion,
    tiers: list[Tier],
    launch: datetime,
    now: datetime,
) -> list[Member]:
    tier_by_rank = {t.rank: t for t in tiers}
    members = []
    for n in range(DEMO_MEMBER_COUNT):
        # Log-normal growth: most members near the bottom, a few far up the ladder.
        growth = int(rng.lognormvariate(6.6, 1.4))
        lifetime = int(growth * rng.uniform(0.8, 1.6)) + rng.randint(1, 300)
        members.append(
            Member(
                external_id=f"demo-{n + 1:04d}",
                display_name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                birthday=date(1960, 1, 1) + timedelta(days=rng.randint(0, 45 * 365)),
                joined_at=launch + timedelta(minutes=rng.randint(0, 700 * 24 * 60)),
                tier_id=tier_by_rank[tier_for_growth(DEMO_LADDER, growth).rank].id,
                growth=growth,
                lifetime_points=lifetime,
                points_balance=lifetime - int(lifetime * rng.choice((0, 0, 0.2, 0.5, 0.8))),
            )
        )
    await Member.bulk_create(members, using_db=conn)
    stored = await Member.all().using_db(conn).order_by("id")
    ledger: list[PointsLedgerEntry] = []
    changes: list[TierChange] = []
    for member in stored:
        ledger.append(
            PointsLedgerEntry(
                member_id=member.id,
                delta=member.lifetime_points,
                kind=LedgerKind.EARN,
                reason="Demo history: points earned",
                source=LedgerSource.DEMO,
                idempotency_key=f"{member.external_id}:earn",
                balance_after=member.lifetime_points,
            )
        )
        spent = member.lifetime_points - member.points_balance
        if spent:
            ledger.append(
                PointsLedgerEntry(
                    member_id=member.id,
                    delta=-spent,
                    kind=LedgerKind.SPEND,
                    reason="Demo history: rewards redeemed",
                    source=LedgerSource.DEMO,
                    idempotency_key=f"{member.external_id}:spend",
                    balance_after=member.points_balance,
                )
            )
        reached = next(t.rank for t in tiers if t.id == member.tier_id)
        for rank in range(reached + 1):
            changes.append(
                TierChange(
                    member_id=member.id,
                    from_tier_id=tier_by_rank[rank - 1].id if rank else None,
                    to_tier_id=tier_by_rank[rank].id,
                    reason=TierChangeReason.PROMOTION if rank else TierChangeReason.ENROLLMENT,
                    ladder_version_id=version.id,
                    changed_at=min(member.joined_at + timedelta(days=30 * rank), now),
                )
            )
    await PointsLedgerEntry.bulk_create(ledger, using_db=conn)
    await TierChange.bulk_create(changes, using_db=conn)
    return stored
