"""The demo programme: the whole product, loaded through the services real callers use.

Loaded by ``make run`` into an empty database (and by ``laurel demo``); loading again is a
no-op, and a load is one transaction (the services it calls nest in it), so it lands whole
or not at all. What a new user finds, relative to the load's ``now``:

- a Member < Silver < Gold < Platinum ladder and 200 members with two years of history,
  summed up per member (ledger rows, tier changes, lifetime and growth board scores);
- growth tasks and badges with several levels; a benefits catalogue, the tier x benefit
  matrix and every member's grants of their tier's benefits;
- a season running now (started 10 days ago, 30 days to go) with its own tasks, board
  and benefits (some for every tier, some for Gold and Platinum), switched on by the
  season job's own grant step;
- the last 14 days of activity replayed event by event through ``record_event`` (with
  the clock at each event), so active days, streak facts, task progress, badges,
  promotions, board scores and outbox rows agree exactly as they do for real events;
- an all-time, a weekly and a season board with entries;
- typed purchase attributes (total, line items) and two earning rules: a weekend
  double-points campaign with a 20,000-point budget, and a bonus for baskets holding
  shoes, at most three times a member a month (replayed purchases carry line items);
- purchases whose points pend for a 14-day return window, so the replayed purchases'
  points show as pending (``me.pendingPoints``) until the release job credits them;
- a few members close to promotion and a few at risk of demotion (``DEMO_NEAR_PROMOTION``,
  ``DEMO_AT_RISK``), left out of the replayed activity so they stay so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.models import (
    Benefit,
    GrowthTask,
    LadderVersion,
    Member,
    MemberFact,
    OutboxMessage,
    PointsLedgerEntry,
    Season,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.activity.event_types import set_event_type_attributes, update_event_type
from app.services.activity.events import EventPolicy, record_event
from app.services.badges.catalogue import create_badge
from app.services.benefits.catalogue import (
    BenefitDefinition,
    attach_seasonal_benefit,
    create_benefit,
    set_tier_benefits,
)
from app.services.benefits.grants import grant_tier_benefits
from app.services.leaderboards.boards import BoardDefinition, create_board
from app.services.leaderboards.scores import apply_changes, changed_keys, changes_for
from app.services.rules.catalogue import RuleDefinition, create_rule
from app.services.seasons.catalogue import create_season
from app.services.seasons.switch import grant_season
from app.services.shared.audit import Actor
from app.services.tasks.catalogue import TaskDefinition, create_task, update_task
from app.services.tiers.ladder import publish_ladder
from gamification.activity.attributes import AttributeSpec, AttributeType
from gamification.badges import BadgeMetric
from gamification.benefits import BenefitKind
from gamification.leaderboards import Metric, Period
from gamification.points.ledger import LedgerKind, LedgerSource
from gamification.rules.engine import Budget, Effect
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule, tier_for_growth

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
    ("on-fire", "On fire", BadgeMetric.TASK_COMPLETED, "check-in-streak-7", [1, 3, 10], False),
    ("task-master", "Task master", BadgeMetric.TASKS_COMPLETED, None, [5, 25, 100], False),
    ("big-spender", "Big spender", BadgeMetric.EVENTS, "purchase", [5, 20, 50], False),
    ("streaker", "Streaker", BadgeMetric.STREAK_DAYS, None, [3, 7, 30], False),
    ("top-tier", "Top tier", BadgeMetric.TIER_REACHED, None, [3], True),
)
DEMO_MEMBER_COUNT = 200
# The zone of the demo's local days when the caller names none.
DEMO_ZONE = ZoneInfo("UTC")
# Who the audit log says defined the demo's catalogue.
DEMO_ACTOR = Actor(subject="demo-loader", role="admin")
# Days of recent activity replayed through the event service, today included.
ACTIVITY_DAYS = 14
# The regulars' run of daily check-ins, up to today: long enough for the 7-day streak task.
REGULAR_STREAK_DAYS = 8
DEMO_SEASON_CODE = "festival"
# The season runs from local midnight this many days ago to local midnight this many
# days ahead.
SEASON_STARTED_DAYS_AGO = 10
SEASON_DAYS_LEFT = 30
_FIRST = "Ada Bo Chen Dana Eli Fang Gus Hana Ivo Jun Kai Lea Mei Nia Oto Pia Qi Rui Sol Tao".split()
_LAST = "Ng Li Park Silva Kim Wang Novak Ito Costa Lund Haas Zhou Reyes Sato Berg Okafor".split()

# Members a new user can look up: (external id, tier code, share of the way to the next
# tier). A few steps from promotion...
DEMO_NEAR_PROMOTION = (
    ("demo-0003", "member", 0.95),
    ("demo-0004", "silver", 0.97),
    ("demo-0005", "gold", 0.96),
)
# ...and holding a tier their growth no longer keeps: (external id, tier code, growth as
# a share of the tier's retention threshold).
DEMO_AT_RISK = (
    ("demo-0006", "silver", 0.90),
    ("demo-0007", "gold", 0.92),
    ("demo-0008", "platinum", 0.95),
)
# Purchases a tier's requirements ask for ("events:purchase"), so the history agrees with
# the ladder: nobody holds Gold without the two purchases Gold requires.
_PURCHASES_FOR_RANK = {0: 0, 1: 1, 2: 2, 3: 5}


def _benefits(season_starts: datetime) -> tuple[BenefitDefinition, ...]:
    evening = (season_starts + timedelta(days=20)).replace(hour=11, minute=0, second=0)
    return (
        BenefitDefinition(
            "member-prices",
            "Member prices",
            BenefitKind.DISCOUNT,
            {"percent": 5},
            "5% off the shelf price, for every member",
        ),
        BenefitDefinition(
            "free-shipping",
            "Free shipping",
            BenefitKind.FREE_SHIPPING,
            {},
            "Standard delivery at no charge",
        ),
        BenefitDefinition(
            "free-express-shipping",
            "Free express shipping",
            BenefitKind.FREE_SHIPPING,
            {},
            "Next-day delivery at no charge",
        ),
        BenefitDefinition(
            "priority-service",
            "Priority service",
            BenefitKind.PRIORITY_SERVICE,
            {},
            "A dedicated service line",
        ),
        BenefitDefinition(
            "members-evening",
            "Members' evening",
            BenefitKind.EXCLUSIVE_EVENT,
            {"name": "Platinum members' evening", "starts_at": evening.isoformat()},
            "An evening at the flagship store",
        ),
        # Seasonal: given while the festival runs.
        BenefitDefinition(
            "festival-coupon",
            "Festival coupon",
            BenefitKind.COUPON,
            {"code_prefix": "FEST", "percent": 10},
            "10% off one order during the festival",
        ),
        BenefitDefinition(
            "festival-double-points",
            "Festival double points",
            BenefitKind.POINTS_MULTIPLIER,
            {"factor": 2},
            "Twice the points on every purchase during the festival",
        ),
        BenefitDefinition(
            "festival-early-access",
            "Festival early access",
            BenefitKind.EXCLUSIVE_EVENT,
            {"name": "Festival preview", "starts_at": season_starts.isoformat()},
            "Shop the festival range a day early",
        ),
    )


# The tier x benefit matrix: a tier's members hold every benefit of its row.
DEMO_TIER_BENEFITS = {
    "member": ("member-prices",),
    "silver": ("member-prices", "free-shipping"),
    "gold": ("member-prices", "free-shipping", "priority-service"),
    "platinum": ("member-prices", "free-express-shipping", "priority-service", "members-evening"),
}
# The festival's benefits and the tiers they are for.
DEMO_SEASONAL_BENEFITS = (
    ("festival-coupon", ("member", "silver", "gold", "platinum")),
    ("festival-double-points", ("gold", "platinum")),
    ("festival-early-access", ("platinum",)),
)


def _season_tasks(season_id: int) -> tuple[TaskDefinition, ...]:
    return (
        TaskDefinition(
            code="festival-check-ins",
            name="Check in on 5 festival days",
            event_type="check_in",
            condition=Condition.DISTINCT_DAYS,
            target=5,
            window=Window.SEASON,
            season_id=season_id,
            reward_points=150,
            reward_growth=50,
        ),
        TaskDefinition(
            code="festival-spend",
            name="Spend 800 during the festival",
            event_type="purchase",
            condition=Condition.SUM,
            target=800,
            window=Window.SEASON,
            season_id=season_id,
            reward_points=400,
            reward_growth=100,
        ),
    )


def _boards(season_id: int) -> tuple[BoardDefinition, ...]:
    return (
        BoardDefinition(
            code="all-time",
            name="All-time points",
            metric=Metric.POINTS_EARNED,
            period=Period.ALL_TIME,
            description="Points earned since joining",
        ),
        BoardDefinition(
            code="this-week",
            name="This week",
            metric=Metric.POINTS_EARNED,
            period=Period.WEEK,
            description="Points earned this week",
        ),
        BoardDefinition(
            code="festival",
            name="Festival board",
            metric=Metric.POINTS_EARNED,
            period=Period.SEASON,
            season_id=season_id,
            description="Points earned during the festival",
        ),
    )


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
    today = now.astimezone(zone).date()
    activity_starts = _midnight(today - timedelta(days=ACTIVITY_DAYS - 1), zone)
    async with in_transaction() as conn:
        version = await publish_ladder(
            tiers=DEMO_LADDER,
            effective_at=launch,
            now=launch,
            notes="Demo programme",
            using_db=conn,
        )
        tiers = await Tier.filter(ladder_version_id=version.id).using_db(conn).order_by("rank")
        stored, reached = await _load_members(
            conn, rng=rng, version=version, tiers=tiers, launch=launch, now=activity_starts
        )
        await _load_history_scores(conn, rng=rng, members=stored, before=activity_starts, zone=zone)
        await _load_tasks_and_badges(now=launch)
        await _load_earning_rules(now=launch)
        season_starts = _midnight(today - timedelta(days=SEASON_STARTED_DAYS_AGO), zone)
        await _load_benefits(season_starts=season_starts, now=launch)
        for member in stored:
            tier_code, since = reached[member.id]
            await grant_tier_benefits(conn, member_id=member.id, tier_code=tier_code, now=since)
        season = await _load_season(
            starts_at=season_starts,
            ends_at=_midnight(today + timedelta(days=SEASON_DAYS_LEFT), zone),
            now=activity_starts,
        )
        await _replay_activity(
            rng=rng,
            members=stored,
            season=season,
            first_day=today - timedelta(days=ACTIVITY_DAYS - 1),
            now=now,
            zone=zone,
        )
    return DemoLoad(loaded=True, members=len(stored))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


async def _load_tasks_and_badges(*, now: datetime) -> None:
    """The growth tasks and badges, through the catalogue services (validated, audited).

    The streak task rewards the on-fire badge, whose levels count that task: the task
    comes first, then the badge, then the task names its reward."""
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
        _badge,
    ) in DEMO_TASKS:
        await create_task(
            definition=TaskDefinition(
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
            ),
            actor=DEMO_ACTOR,
            now=now,
        )
    for code, name, metric, subject, thresholds, hidden in DEMO_BADGES:
        await create_badge(
            code=code,
            name=name,
            metric=metric,
            subject=subject,
            thresholds=thresholds,
            hidden=hidden,
            actor=DEMO_ACTOR,
            now=now,
        )
    for code, *_, badge in DEMO_TASKS:
        if badge is not None:
            task = await GrowthTask.get(code=code)
            await update_task(
                task_id=task.id, changes={"reward_badge": badge}, actor=DEMO_ACTOR, now=now
            )


async def _load_earning_rules(*, now: datetime) -> None:
    """Typed purchases and the earning rules a marketer would write for them; purchases'
    points pend for a 14-day return window, so the replayed ones are still pending."""
    await update_event_type(
        code="purchase", changes={"pending_days": 14}, actor=DEMO_ACTOR, now=now
    )
    await set_event_type_attributes(
        code="purchase",
        attributes=[
            AttributeSpec("total", AttributeType.MONEY),
            AttributeSpec("items", AttributeType.LINE_ITEMS),
        ],
        actor=DEMO_ACTOR,
        now=now,
    )
    await create_rule(
        code="weekend-double",
        name="Weekend double points",
        definition=RuleDefinition(
            event_type="purchase",
            effect=Effect(multiplier=Decimal(2)),
            condition={"time": {"field": "dayOfWeek", "op": "in", "value": ["saturday", "sunday"]}},
            budget=Budget(campaign_points=20_000),
        ),
        actor=DEMO_ACTOR,
        now=now,
    )
    await create_rule(
        code="shoe-bonus",
        name="Shoe bonus",
        definition=RuleDefinition(
            event_type="purchase",
            effect=Effect(points=50),
            condition={
                "lineItems": {
                    "of": "items",
                    "where": [{"field": "category", "op": "eq", "value": "shoes"}],
                    "measure": "any",
                }
            },
            budget=Budget(member_awards=3, member_period=Window.MONTH),
        ),
        actor=DEMO_ACTOR,
        now=now,
    )


async def _load_benefits(*, season_starts: datetime, now: datetime) -> None:
    for definition in _benefits(season_starts):
        await create_benefit(definition=definition, actor=DEMO_ACTOR, now=now)
    for tier_code, codes in DEMO_TIER_BENEFITS.items():
        await set_tier_benefits(tier_code=tier_code, benefit_codes=codes, actor=DEMO_ACTOR, now=now)


async def _load_season(*, starts_at: datetime, ends_at: datetime, now: datetime) -> Season:
    """The running season: its tasks, board and benefits, defined before it started (as a
    marketer would), then switched on by the season job's grant step at its start."""
    season = await create_season(
        code=DEMO_SEASON_CODE,
        name="Winter Festival",
        starts_at=starts_at,
        ends_at=ends_at,
        description="Double points for Gold and Platinum, a coupon for everyone",
        actor=DEMO_ACTOR,
        now=now,
    )
    for definition in _season_tasks(season.id):
        await create_task(definition=definition, actor=DEMO_ACTOR, now=now)
    for board in _boards(season.id):
        await create_board(definition=board, actor=DEMO_ACTOR, now=now)
    for code, tier_codes in DEMO_SEASONAL_BENEFITS:
        benefit = await Benefit.get(code=code)
        await attach_seasonal_benefit(
            season_id=season.id,
            benefit_id=benefit.id,
            tier_codes=tier_codes,
            actor=DEMO_ACTOR,
            now=now,
        )
    return season


async def _replay_activity(
    *,
    rng: random.Random,
    members: list[Member],
    season: Season,
    first_day: date,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """The last ``ACTIVITY_DAYS`` days of check-ins and purchases, each recorded by
    ``record_event`` with the clock at the event, in time order (the season's benefits
    are switched on when the clock reaches its start, as the job would)."""
    policy = EventPolicy(zone=zone)
    special = {code for code, *_ in (*DEMO_NEAR_PROMOTION, *DEMO_AT_RISK)}
    planned: list[tuple[datetime, int, str, Decimal]] = []
    for member in members:
        if member.external_id in special or rng.random() >= 0.7:
            continue
        # A few regulars check in every day of the last week and more (a streak); most
        # come on one day. Few events in all: each one is a full engine transaction.
        if rng.random() < 0.08:
            days = list(range(ACTIVITY_DAYS - REGULAR_STREAK_DAYS, ACTIVITY_DAYS))
        else:
            days = [rng.randrange(ACTIVITY_DAYS)]
        for n in days:
            starts = _midnight(first_day + timedelta(days=n), zone)
            span = min(starts + timedelta(days=1), now) - starts
            if span <= timedelta(0):
                continue
            check_in = starts + span * rng.uniform(0.05, 0.6)
            planned.append((check_in, member.id, "check_in", Decimal(0)))
            if rng.random() < 0.3:
                amount = Decimal(rng.randrange(40, 480))
                planned.append((check_in + (span * 0.3), member.id, "purchase", amount))
    planned.sort(key=lambda p: (p[0], p[1]))
    switched_on = False
    for n, (at, member_id, type_, amount) in enumerate(planned):
        if not switched_on and at >= season.starts_at:
            await grant_season(season=season, now=season.starts_at)
            switched_on = True
        await record_event(
            member_id=member_id,
            type=type_,
            occurred_at=at,
            amount=amount,
            attributes=_basket(rng, amount) if type_ == "purchase" else None,
            idempotency_key=f"demo:{member_id}:{n}",
            policy=policy,
            now=at,
        )
    if not switched_on:
        await grant_season(season=season, now=max(season.starts_at, now))


def _basket(rng: random.Random, amount: Decimal) -> dict[str, object]:
    """A purchase's attributes: its total, one line item of a random category."""
    category = rng.choice(("shoes", "apparel", "accessories"))
    return {
        "total": str(amount),
        "items": [
            {
                "sku": f"{category[:3].upper()}-1",
                "category": category,
                "price": str(amount),
                "quantity": 1,
            }
        ],
    }


async def _load_history_scores(
    conn: BaseDBAsyncClient,
    *,
    rng: random.Random,
    members: list[Member],
    before: datetime,
    zone: ZoneInfo,
) -> None:
    """The boards' view of each member's summed-up history: its points and growth, as of a
    moment between joining and the replayed activity, with an outbox row naming the
    scores (so the board index learns of them as it learns of events)."""
    for member in members:
        at = member.joined_at + (before - member.joined_at) * rng.random()
        scores = changes_for(
            seasons=[],
            at=at,
            zone=zone,
            points=member.lifetime_points,
            growth=member.growth,
            tasks_completed=0,
        )
        message = await OutboxMessage.create(
            topic="demo.history",
            payload={"member_id": member.id, "scores": changed_keys(scores)},
            created_at=before,
            using_db=conn,
        )
        await apply_changes(
            conn, member_id=member.id, changes=scores, reached_at=at, seq=message.id
        )


def _growth_for(
    rule: TierRule, tiers: tuple[TierRule, ...], *, near: float | None, at_risk: float | None
) -> int:
    if near is not None:
        above = tiers[rule.rank + 1]
        return int(rule.entry_threshold + (above.entry_threshold - rule.entry_threshold) * near)
    assert at_risk is not None
    return int(rule.retention_threshold * at_risk)


async def _load_members(
    conn: BaseDBAsyncClient,
    *,
    rng: random.Random,
    version: LadderVersion,
    tiers: list[Tier],
    launch: datetime,
    now: datetime,
) -> tuple[list[Member], dict[int, tuple[str, datetime]]]:
    """The members and their summed-up history; returns them with, per member id, the
    tier they hold and since when."""
    tier_by_rank = {t.rank: t for t in tiers}
    rule_by_code = {r.code: r for r in DEMO_LADDER}
    near = {code: (tier, share) for code, tier, share in DEMO_NEAR_PROMOTION}
    at_risk = {code: (tier, share) for code, tier, share in DEMO_AT_RISK}
    members = []
    for n in range(DEMO_MEMBER_COUNT):
        external_id = f"demo-{n + 1:04d}"
        # Log-normal growth: most members near the bottom, a few far up the ladder.
        growth = int(rng.lognormvariate(6.6, 1.4))
        held = tier_for_growth(DEMO_LADDER, growth)
        if external_id in near:
            held = rule_by_code[near[external_id][0]]
            growth = _growth_for(held, DEMO_LADDER, near=near[external_id][1], at_risk=None)
        elif external_id in at_risk:
            held = rule_by_code[at_risk[external_id][0]]
            growth = _growth_for(held, DEMO_LADDER, near=None, at_risk=at_risk[external_id][1])
        lifetime = int(growth * rng.uniform(0.8, 1.6)) + rng.randint(1, 300)
        joined_at = launch + timedelta(minutes=rng.randint(0, 700 * 24 * 60))
        members.append(
            Member(
                external_id=external_id,
                display_name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                birthday=date(1960, 1, 1) + timedelta(days=rng.randint(0, 45 * 365)),
                joined_at=joined_at,
                # Created when they joined: the season job sweeps only settled members.
                created_at=joined_at,
                tier_id=tier_by_rank[held.rank].id,
                growth=growth,
                lifetime_points=lifetime,
                points_balance=lifetime - int(lifetime * rng.choice((0, 0, 0.2, 0.5, 0.8))),
            )
        )
    await Member.bulk_create(members, using_db=conn)
    stored = await Member.all().using_db(conn).order_by("id")
    ledger: list[PointsLedgerEntry] = []
    changes: list[TierChange] = []
    facts: list[MemberFact] = []
    reached: dict[int, tuple[str, datetime]] = {}
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
        rank = next(t.rank for t in tiers if t.id == member.tier_id)
        for step in range(rank + 1):
            changes.append(
                TierChange(
                    member_id=member.id,
                    from_tier_id=tier_by_rank[step - 1].id if step else None,
                    to_tier_id=tier_by_rank[step].id,
                    reason=TierChangeReason.PROMOTION if step else TierChangeReason.ENROLLMENT,
                    ladder_version_id=version.id,
                    changed_at=min(member.joined_at + timedelta(days=30 * step), now),
                )
            )
        reached[member.id] = (tier_by_rank[rank].code, changes[-1].changed_at)
        # The facts the engine keeps and the ladder's requirements and badges read.
        # Those close to promotion meet the next tier's requirements: growth is all they miss.
        wanted = rank + 1 if member.external_id in near else rank
        purchases = _PURCHASES_FOR_RANK[wanted] + rng.randint(0, 3)
        if purchases:
            facts.append(MemberFact(member_id=member.id, key="events:purchase", value=purchases))
        if rank:
            facts.append(
                MemberFact(member_id=member.id, key=BadgeMetric.TIER_REACHED.value, value=rank)
            )
    await PointsLedgerEntry.bulk_create(ledger, using_db=conn)
    await TierChange.bulk_create(changes, using_db=conn)
    await MemberFact.bulk_create(facts, using_db=conn)
    return stored, reached
