"""Programme analytics at scale: every analytics query over 1M members and 20M ledger rows.

Creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (``laurel_bench_<random>``,
dropped at the end unless ``--keep``), migrates it with the app's migrations and bulk-loads
a two-year-old programme (INSERT ... SELECT generate_series, indexes and triggers in place):

- the demo's four-tier ladder, published two years ago, and a draft version;
- ``--members`` members enrolling at a growing rate (member i joined at fraction
  (i/N)^(1/1.3) of the two years), 60% Member, 25% Silver, 10% Gold, 5% Platinum at their
  peak, 15% of those demoted one tier since, a quarter of each upper tier below retention;
- tier history: one enrolment row per member, one row per promotion, one per demotion;
- ``--ledger-rows`` ledger rows with the same growth curve (78% earn, 12% spend, 6% expire,
  4% adjust), each for a member who had joined by then, with a true running balance; every
  member's balance and lifetime points are the sums of its rows;
- ``--events`` events (check-ins, purchases, shares, reviews, referrals) on the same curve;
- eight seasons of 45 days (the last one running), three seasonal tasks for every tier
  and one for Gold and above each, two lifetime tasks for every tier and one for Members
  only, with task progress (15% of enrolled members per seasonal task; for a task of some
  tiers, members whose tier now is one of them) and completions; a tier benefit and a
  seasonal coupon per season for Silver and above, granted, used or expired.

Then VACUUM ANALYZE, and each query of QUERIES ``--runs`` times through the app's own
service functions (``db.connect``), printing the median and the maximum and whether the
median meets the issue's 2 s. A query is one line in QUERIES: a name and a function of the
context returning the coroutine to time. ``--variants`` times the queries again under other
index sets in the same run (see VARIANTS: ``without-0014`` drops the analytics indexes of
migration 0014, ``with-0014`` puts them back).

    .venv/bin/python bench/analytics.py [--members 1000000] [--ledger-rows 20000000]
        [--events N] [--runs 5] [--keep | --reuse URL] [--only NAME] [--variants a,b]

``--keep`` leaves the database and prints its URL; ``--reuse URL`` migrates it (new
migrations apply) and skips loading, so iterating on queries and indexes is cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from _databases import bench_settings, temporary_postgres

from app import db
from app.api.analytics.exports import BATCH, _members_at_risk_lines
from app.models import LadderVersion, LadderVersionStatus, Tier
from app.services.analytics import engagement as engagement_analytics
from app.services.analytics import reports as analytics
from app.services.analytics import tiers as tier_analytics
from app.services.points.rollup import fold_points_flow
from app.services.programme.demo import DEMO_LADDER
from app.services.tiers import calibration
from app.services.tiers.ladder import publish_ladder, store_tiers
from app.services.tiers.simulation import simulate_ladder
from gamification.analytics import Granularity

ZONE = ZoneInfo("Asia/Shanghai")
SPAN = timedelta(days=730)
TARGET_SECONDS = 2.0
CHUNK = 2_000_000
# Enrolment and activity grow over the two years: the share of them that happened by
# fraction u of the span is u ** GROWTH.
GROWTH = 1.3
SEASONS = 8


@dataclass
class Context:
    now: datetime
    members: int
    # The last season that has ended, its first task, its task for some tiers, and the
    # draft ladder version.
    season_id: int
    task_id: int
    restricted_task_id: int
    draft_id: int
    # Rows each streaming query (one returning Rows) produced, by query name.
    streamed: dict[str, int] = field(default_factory=dict)


@dataclass
class Rows:
    """What a query that streams rows returns: the table prints rows per second for it."""

    n: int


Query = Callable[[Context], Awaitable[object]]


async def export_members_at_risk(ctx: Context) -> Rows:
    """The whole members-at-risk CSV, through the generator GET /exports/... streams."""
    rows = -1  # the header line
    async for chunk in _members_at_risk_lines(now=ctx.now, batch=BATCH):
        rows += chunk.count("\n")
    return Rows(rows)


def periods(
    report: Callable[..., Awaitable[object]],
    granularity: Granularity,
    *,
    days: int,
    now: bool = False,
) -> Query:
    """A per-period report over the last ``days`` days in the bench's zone (``now``: the
    report also takes the moment it is asked)."""

    def ask(c: Context) -> Awaitable[object]:
        extra = {"now": c.now} if now else {}
        return report(
            granularity=granularity,
            starts_at=c.now - timedelta(days=days),
            ends_at=c.now,
            zone=ZONE,
            **extra,
        )

    return ask


QUERIES: list[tuple[str, Query]] = [
    ("tierDistribution now", lambda c: analytics.tier_distribution(at=c.now)),
    (
        "tierDistribution a year ago",
        lambda c: analytics.tier_distribution(at=c.now - timedelta(days=365)),
    ),
    ("tierMovements month x12", periods(analytics.tier_movements, Granularity.MONTH, days=365)),
    ("tierMovements day x90", periods(analytics.tier_movements, Granularity.DAY, days=90)),
    ("pointsFlow month x12", periods(analytics.points_flow, Granularity.MONTH, days=365)),
    ("pointsFlow day x90", periods(analytics.points_flow, Granularity.DAY, days=90)),
    ("outstandingLiability", lambda c: analytics.outstanding_liability()),
    (
        "membersAtRisk first page",
        lambda c: analytics.members_at_risk(now=c.now, after_id=None, first=50),
    ),
    (
        "membersAtRisk deep page",
        lambda c: analytics.members_at_risk(now=c.now, after_id=c.members * 9 // 10, first=50),
    ),
    (
        "tierRates month x12",
        periods(tier_analytics.tier_rates, Granularity.MONTH, days=365, now=True),
    ),
    ("tierRates day x90", periods(tier_analytics.tier_rates, Granularity.DAY, days=90, now=True)),
    ("timeToPromotion all time", lambda c: tier_analytics.time_to_promotion(now=c.now)),
    (
        "timeToPromotion last 90 days",
        lambda c: tier_analytics.time_to_promotion(
            now=c.now, starts_at=c.now - timedelta(days=90), ends_at=c.now
        ),
    ),
    (
        "activityAfterPromotion 12 months",
        lambda c: tier_analytics.activity_after_promotion(
            starts_at=c.now - timedelta(days=365), ends_at=c.now, now=c.now, days=30
        ),
    ),
    ("taskFunnel all tasks", lambda c: engagement_analytics.task_funnel(now=c.now)),
    (
        "taskFunnel one season",
        lambda c: engagement_analytics.task_funnel(now=c.now, season_id=c.season_id),
    ),
    (
        "taskFunnel one task",
        lambda c: engagement_analytics.task_funnel(now=c.now, task_id=c.task_id),
    ),
    (
        "taskFunnel one Gold+ task",
        lambda c: engagement_analytics.task_funnel(now=c.now, task_id=c.restricted_task_id),
    ),
    (
        "seasonalBenefitUptake all",
        lambda c: engagement_analytics.seasonal_benefit_uptake(now=c.now),
    ),
    (
        "seasonalBenefitUptake one season",
        lambda c: engagement_analytics.seasonal_benefit_uptake(now=c.now, season_id=c.season_id),
    ),
    (
        "suggestThresholds 3 shares 90d",
        lambda c: calibration.suggest_thresholds(
            shares=[0.4, 0.15, 0.05], now=c.now, zone=ZONE, active_within_days=90
        ),
    ),
    ("simulateLadder the draft", lambda c: simulate_ladder(version_id=c.draft_id)),
    ("membersAtRisk CSV export", export_members_at_risk),
]


def _migration_indexes() -> tuple[list[str], list[str]]:
    """The CREATE and DROP statements of the analytics indexes migration."""
    module = importlib.import_module("app.migrations.0014_analytics_indexes")
    return list(module.CREATE), list(module.DROP)


# name -> statements run before the queries are timed under that index set (then ANALYZE).
VARIANTS: dict[str, Callable[[], list[str]]] = {
    "as-migrated": lambda: [],
    "without-0014": lambda: _migration_indexes()[1],
    "with-0014": lambda: _migration_indexes()[0],
}


# Per-member plan, from the id alone: peak rank, whether demoted since, growth now.
PLAN = """
CREATE UNLOGGED TABLE bench_plan AS
SELECT i AS id, top, top - dem AS cur,
  CASE WHEN top - dem = 0 THEN (i * 7) % 1000
       WHEN (i * 7919) % 100 < 25 THEN r.retention - 1 - (i * 31) % (r.retention * 3 / 10)
       ELSE r.retention + (i * 13) % (r.next_entry - r.retention) END AS growth
FROM (
  SELECT i, top, CASE WHEN top > 0 AND (i * 40503) % 100 < 15 THEN 1 ELSE 0 END AS dem
  FROM (
    SELECT i, CASE WHEN h < 600 THEN 0 WHEN h < 850 THEN 1 WHEN h < 950 THEN 2 ELSE 3 END AS top
    FROM (SELECT i, (i * 2654435761) % 1000 AS h FROM generate_series(1::bigint, $1::bigint) i) x
  ) y
) z
JOIN (SELECT * FROM unnest($2::int[], $3::bigint[], $4::bigint[])
      AS t(rank, retention, next_entry)) r ON r.rank = z.top - z.dem
"""

# The instant at fraction (n / total) ** (1 / GROWTH) of the span: $start, $span seconds.
CURVE = "{start}::timestamptz + make_interval(secs => {span} * power({n}::float8 / {total}, {g}))"


def curve(n: str, total: str, start: str, span: str) -> str:
    return CURVE.format(n=n, total=total, start=start, span=span, g=1 / GROWTH)


MEMBERS = f"""
INSERT INTO member (id, external_id, display_name, joined_at, tier_id, points_balance, growth,
                    lifetime_points, created_at, updated_at)
SELECT p.id, 'bench-' || p.id, 'Member ' || p.id, j.at, ($2::int[])[p.cur + 1], 0, p.growth, 0,
       j.at, j.at
FROM bench_plan p, LATERAL (SELECT {curve("p.id", "$1", "$3", "$4")} AS at) j
ORDER BY p.id
"""

# Enrolment, then promotion k of the member's peak at fraction k / (peak + 2) of the time
# since joining, and a demotion at (peak + 1) / (peak + 2); written in time order.
TIER_CHANGES = """
INSERT INTO tier_change (member_id, from_tier_id, to_tier_id, reason, ladder_version_id,
                         changed_at)
SELECT member_id, from_tier, to_tier, reason, $2, changed_at FROM (
  SELECT m.id AS member_id, NULL::int AS from_tier, ($1::int[])[1] AS to_tier,
         'enrollment' AS reason, m.joined_at AS changed_at
  FROM member m
  UNION ALL
  SELECT p.id, ($1::int[])[k], ($1::int[])[k + 1], 'promotion',
         m.joined_at + ($3::timestamptz - m.joined_at) * k / (p.top + 2)
  FROM bench_plan p JOIN member m ON m.id = p.id, generate_series(1, p.top) k
  UNION ALL
  SELECT p.id, ($1::int[])[p.top + 1], ($1::int[])[p.top], 'demotion',
         m.joined_at + ($3::timestamptz - m.joined_at) * (p.top + 1) / (p.top + 2)
  FROM bench_plan p JOIN member m ON m.id = p.id WHERE p.cur < p.top
) c ORDER BY changed_at
"""

# Rows n in [$1, $2] of $3, for a member who had joined by then (of $4).
LEDGER_STAGE = f"""
INSERT INTO bench_ledger (n, member_id, delta, kind, created_at)
SELECT n, m,
  CASE WHEN r < 0.78 THEN 10 + floor(a * 490)
       WHEN r < 0.90 THEN -(50 + floor(a * 350))
       WHEN r < 0.96 THEN -(5 + floor(a * 95))
       WHEN a < 0.7 THEN 1 + floor(a * 285) ELSE -(1 + floor((a - 0.7) * 300)) END,
  CASE WHEN r < 0.78 THEN 'earn' WHEN r < 0.90 THEN 'spend' WHEN r < 0.96 THEN 'expire'
       ELSE 'adjust' END,
  at
FROM (
  SELECT n, LEAST($4, 1 + floor(random() * $4 * n / $3))::bigint AS m, random() AS r,
         random() AS a, {curve("n", "$3", "$5", "$6")} AS at
  FROM generate_series($1::bigint, $2::bigint) n
) g
"""

LEDGER = """
INSERT INTO points_ledger (member_id, delta, kind, reason, source, idempotency_key,
                           balance_after, created_at)
SELECT member_id, delta, kind, 'bench',
       CASE kind WHEN 'earn' THEN 'event' WHEN 'spend' THEN 'redemption'
                 WHEN 'expire' THEN 'expiry' ELSE 'manual' END,
       'bench-' || n, SUM(delta) OVER (PARTITION BY member_id ORDER BY n), created_at
FROM bench_ledger ORDER BY n
"""

BALANCES = """
UPDATE member m SET points_balance = s.balance, lifetime_points = s.earned
FROM (SELECT member_id, SUM(delta) AS balance,
             SUM(CASE WHEN delta > 0 THEN delta ELSE 0 END) AS earned
      FROM bench_ledger GROUP BY member_id) s
WHERE s.member_id = m.id
"""

EVENTS = f"""
INSERT INTO event (member_id, type, occurred_at, amount, attributes, idempotency_key,
                   payload_hash, outcome, points, growth, reversed_amount, reversed_points,
                   reversed_growth, recorded_at)
SELECT m, type, at, amount, '{{}}', 'bench-' || n, md5(n::text), '{{}}', points, points, 0, 0,
       0, at
FROM (
  SELECT n, m, at, type, amount,
         CASE type WHEN 'check_in' THEN 5 WHEN 'share' THEN 2 WHEN 'review' THEN 10
                   WHEN 'referral' THEN 100 ELSE floor(amount)::bigint END AS points
  FROM (
    SELECT n, m, at,
           CASE WHEN r < 0.40 THEN 'check_in' WHEN r < 0.75 THEN 'purchase'
                WHEN r < 0.85 THEN 'share' WHEN r < 0.95 THEN 'review' ELSE 'referral' END
             AS type,
           CASE WHEN r >= 0.40 AND r < 0.75 THEN round((10 + a * 490)::numeric, 2) ELSE 0 END
             AS amount
    FROM (
      SELECT n, LEAST($4, 1 + floor(random() * $4 * n / $3))::bigint AS m, random() AS r,
             random() AS a, {curve("n", "$3", "$5", "$6")} AS at
      FROM generate_series($1::bigint, $2::bigint) n
    ) g
  ) t
) e
"""

# One row per member and programme-local day with an event, in day order (as ingestion
# writes them); what threshold calibration reads.
ACTIVE_DAYS = f"""
INSERT INTO member_active_day (member_id, day)
SELECT member_id, day FROM (
  SELECT DISTINCT member_id, (occurred_at AT TIME ZONE '{ZONE.key}')::date AS day FROM event
) d ORDER BY day, member_id
"""

# Progress of the members enrolled by a task's season end (all members for lifetime
# tasks) who took part; each completed progress row is also a completion.
PROGRESS = f"""
INSERT INTO task_progress (member_id, task_id, window_key, count, total, days, streak,
                           last_day, completions, updated_at)
SELECT i, t.id, t.window_key,
       CASE WHEN done THEN t.target ELSE 1 + (i % greatest(t.target - 1, 1)) END,
       CASE WHEN t.condition = 'sum' THEN CASE WHEN done THEN t.target ELSE i % t.target END
            ELSE 0 END,
       0, 0, (t.s + (t.e - t.s) * ((i % 97) / 100.0))::date, CASE WHEN done THEN 1 ELSE 0 END,
       t.s + (t.e - t.s) * ((i % 97) / 100.0)
FROM bench_task t,
     LATERAL generate_series(1::bigint, LEAST($1::bigint, greatest(1, floor($1 * power(
       extract(epoch FROM (LEAST(t.e, $3::timestamptz) - $2::timestamptz)) / $4, {GROWTH}))
     )::bigint)) i,
     LATERAL (SELECT (i * 48271 + t.id * 7) % 100 < t.finish AS done) d
WHERE (i * 69621 + t.id * 13) % 100 < t.take
  -- A task for some tiers: members whose tier now is one of them.
  AND (t.lo IS NULL OR EXISTS (SELECT 1 FROM member m JOIN tier r ON r.id = m.tier_id
                               WHERE m.id = i AND r.rank BETWEEN t.lo AND t.hi))
"""

COMPLETIONS = f"""
INSERT INTO task_completion (member_id, task_id, window_key, event_id, points, growth,
                             completed_at)
SELECT p.member_id, p.task_id, p.window_key,
       LEAST($1, greatest(1, floor($1 * power(
         extract(epoch FROM (p.updated_at - $2::timestamptz)) / $3, {GROWTH}))))::bigint,
       g.reward_points, g.reward_growth, p.updated_at
FROM task_progress p JOIN growth_task g ON g.id = p.task_id
WHERE p.completions > 0 AND p.task_id IN (SELECT id FROM bench_task) ORDER BY p.updated_at
"""

TIER_GRANTS = """
INSERT INTO benefit_grant (member_id, benefit_id, source, source_ref, valid_from, status,
                           tier_code)
SELECT m.id, tb.benefit_id, 'tier', t.code, m.joined_at, 'active', t.code
FROM member m JOIN tier t ON t.id = m.tier_id JOIN tier_benefit tb ON tb.tier_code = t.code
"""

# Upper-tier members enrolled by a season's start: used (35%), else expired at its end;
# in the running season used (20%) or active.
SEASON_GRANTS = """
INSERT INTO benefit_grant (member_id, benefit_id, source, source_ref, valid_from, valid_to,
                           status, used_at, tier_code)
SELECT m.id, sb.benefit_id, 'season', s.id::text, s.starts_at, s.ends_at,
       CASE WHEN (m.id * 31 + s.id) % 100 < CASE WHEN s.ends_at > $1 THEN 20 ELSE 35 END
            THEN 'used' WHEN s.ends_at > $1 THEN 'active' ELSE 'expired' END,
       CASE WHEN (m.id * 31 + s.id) % 100 < CASE WHEN s.ends_at > $1 THEN 20 ELSE 35 END
            THEN s.starts_at + interval '1 day' * ((m.id % 15) + 1) END,
       t.code
FROM season s JOIN seasonal_benefit sb ON sb.season_id = s.id
JOIN member m ON m.joined_at < s.starts_at JOIN tier t ON t.id = m.tier_id AND t.rank > 0
"""


@asynccontextmanager
async def constraints_after(conn: asyncpg.Connection, *tables: str) -> AsyncIterator[None]:
    """Load ``tables`` without their secondary indexes, unique and foreign keys, then put
    each back from its own definition: one sorted build and one set-based validation each,
    instead of 20M random index insertions and foreign-key probes. The primary keys (appended
    in order), checks and triggers stay in place throughout."""
    constraints = await conn.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE conrelid = ANY($1::regclass[]) AND contype IN ('u', 'f')",
        list(tables),
    )
    indexes = await conn.fetch(
        "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def "
        "FROM pg_index WHERE indrelid = ANY($1::regclass[]) AND NOT indisprimary "
        "AND indexrelid NOT IN (SELECT conindid FROM pg_constraint)",
        list(tables),
    )
    for c in constraints:
        await conn.execute(f'ALTER TABLE {c["tbl"]} DROP CONSTRAINT "{c["conname"]}"')
    for i in indexes:
        await conn.execute(f"DROP INDEX {i['name']}")
    yield
    started = time.perf_counter()
    for i in indexes:
        await conn.execute(i["def"])
    for c in constraints:
        await conn.execute(f'ALTER TABLE {c["tbl"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}')
    print(
        f"  indexes and constraints of {', '.join(tables)} back in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )


async def load(database_url: str, args: argparse.Namespace, now: datetime) -> dict[str, int]:
    """Bulk rows straight into the tables (the services would take days for 20M rows)."""
    start = now - SPAN
    span_s = SPAN.total_seconds()
    version = await publish_ladder(
        tiers=DEMO_LADDER, effective_at=start - timedelta(days=1), now=start - timedelta(days=1)
    )
    draft = await LadderVersion.create(
        number=version.number + 1, status=LadderVersionStatus.DRAFT, notes="bench draft"
    )
    await store_tiers(version_id=draft.id, rules=DEMO_LADDER, using_db=LadderVersion._meta.db)
    tiers = await Tier.filter(ladder_version_id=version.id).order_by("rank")
    tier_ids = [t.id for t in tiers]
    retention = [max(t.retention_threshold, 1) for t in tiers]
    next_entry = [t.entry_threshold for t in tiers[1:]] + [tiers[-1].entry_threshold * 2]
    n_members, n_ledger, n_events = args.members, args.ledger_rows, args.events
    conn = await asyncpg.connect(database_url)
    counts: dict[str, int] = {}

    async def step(name: str, statement: str, *params: object) -> None:
        started = time.perf_counter()
        status = await conn.execute(statement, *params)
        print(f"  {name}: {status} in {time.perf_counter() - started:.1f}s", flush=True)

    try:
        await conn.execute("SET work_mem = '2GB'")
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute(
            "CREATE TABLE bench_meta (now timestamptz, members bigint, ledger_rows bigint)"
        )
        await conn.execute("INSERT INTO bench_meta VALUES ($1, $2, $3)", now, n_members, n_ledger)
        await step("plan", PLAN, n_members, list(range(len(tiers))), retention, next_entry)
        await step("members", MEMBERS, n_members, tier_ids, start, span_s)
        await conn.execute("SELECT setval('member_id_seq', $1)", n_members)
        await step("tier changes", TIER_CHANGES, tier_ids, version.id, now)
        await conn.execute(
            "CREATE UNLOGGED TABLE bench_ledger (n bigint, member_id bigint, delta bigint, "
            "kind text, created_at timestamptz)"
        )
        for lo in range(1, n_ledger + 1, CHUNK):
            hi = min(n_ledger, lo + CHUNK - 1)
            await step(
                f"ledger stage {hi:,}", LEDGER_STAGE, lo, hi, n_ledger, n_members, start, span_s
            )
        async with constraints_after(conn, "points_ledger", "event"):
            await step("ledger", LEDGER)
            for lo in range(1, n_events + 1, CHUNK):
                hi = min(n_events, lo + CHUNK - 1)
                await step(f"events {hi:,}", EVENTS, lo, hi, n_events, n_members, start, span_s)
        await load_active_days(conn, step)
        await step("balances", BALANCES)
        await load_seasons(conn, step, now=now, start=start, span_s=span_s, args=args)
        await conn.execute("DROP TABLE bench_plan, bench_ledger, bench_task")
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze: {time.perf_counter() - started:.1f}s", flush=True)
        for table in (
            "member",
            "tier_change",
            "points_ledger",
            "event",
            "member_active_day",
            "task_progress",
            "task_completion",
            "benefit_grant",
        ):
            counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()
    return counts


async def load_active_days(conn: asyncpg.Connection, step: Callable[..., Awaitable[None]]) -> None:
    """The members' active days, from their events (bulk, its indexes built after)."""
    async with constraints_after(conn, "member_active_day"):
        await step("active days", ACTIVE_DAYS)


async def top_up(database_url: str) -> None:
    """Load what a database kept by an older version of this script lacks."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT NOT EXISTS (SELECT 1 FROM member_active_day)"):
            print("  topping up the active days", flush=True)

            async def step(name: str, statement: str, *params: object) -> None:
                started = time.perf_counter()
                status = await conn.execute(statement, *params)
                print(f"  {name}: {status} in {time.perf_counter() - started:.1f}s", flush=True)

            await conn.execute("SET work_mem = '1GB'")
            await conn.execute("SET maintenance_work_mem = '1GB'")
            await conn.execute("SET statement_timeout = 0")
            await load_active_days(conn, step)
            await conn.execute("VACUUM ANALYZE member_active_day")
        if await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM benefit_grant WHERE tier_code IS NULL)"
        ):
            # Grants loaded before migration 0019: the loader grants by the current tier.
            started = time.perf_counter()
            status = await conn.execute(
                "UPDATE benefit_grant g SET tier_code = t.code FROM member m "
                "JOIN tier t ON t.id = m.tier_id WHERE m.id = g.member_id AND g.tier_code IS NULL"
            )
            await conn.execute("VACUUM ANALYZE benefit_grant")
            print(f"  grants' tiers: {status} in {time.perf_counter() - started:.1f}s", flush=True)
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM growth_task WHERE min_tier_rank IS NOT NULL "
            "OR max_tier_rank IS NOT NULL)"
        ):
            print("  topping up the tasks for some tiers", flush=True)
            now, members = await conn.fetchrow("SELECT now, members FROM bench_meta")
            events = await conn.fetchval("SELECT max(id) FROM event")
            start = now - SPAN
            await conn.execute("SET statement_timeout = 0")
            await conn.execute(BENCH_TASK)
            await add_restricted_tasks(conn, now=now, start=start)
            for name, statement, params in (
                ("task progress", PROGRESS, (members, start, now, SPAN.total_seconds())),
                ("task completions", COMPLETIONS, (events, start, SPAN.total_seconds())),
            ):
                started = time.perf_counter()
                status = await conn.execute(statement, *params)
                print(f"  {name}: {status} in {time.perf_counter() - started:.1f}s", flush=True)
            await conn.execute("DROP TABLE bench_task")
            await conn.execute("VACUUM ANALYZE growth_task, task_progress, task_completion")
    finally:
        await conn.close()


BENCH_TASK = (
    "CREATE UNLOGGED TABLE bench_task (id int, window_key text, target int, condition text, "
    "s timestamptz, e timestamptz, take int, finish int, lo int, hi int)"
)

# Tasks for some tiers (the funnel reads one window over the history per audience): a
# Gold-and-above task in every season and a lifetime one for Members only.
# code, name, event type, lowest rank, highest rank, share taking part, share finishing
RESTRICTED_TASKS = [
    ("vip-visit", "Visit the VIP lounge", "check_in", 2, None, 30, 60),
    ("first-steps", "First steps", "check_in", None, 0, 20, 70),
]


async def add_restricted_tasks(conn: asyncpg.Connection, *, now: datetime, start: datetime) -> None:
    """RESTRICTED_TASKS into growth_task and bench_task (the seasonal one in every season)."""
    seasons = await conn.fetch("SELECT id, code, starts_at, ends_at FROM season ORDER BY id")
    for code, name, event_type, low, high, take, finish in RESTRICTED_TASKS:
        for season in seasons if high is None else [None]:
            task_id = await conn.fetchval(
                "INSERT INTO growth_task (code, name, description, event_type, condition, "
                'target, "window", per_window_limit, cap, starts_at, ends_at, season_id, '
                "min_tier_rank, max_tier_rank, reward_points, reward_growth, status, created_at) "
                "VALUES ($1, $2, '', $3, 'count', 1, $4, 1, 1, $5, $6, $7, $8, $9, 50, 20, "
                "'active', $10) RETURNING id",
                f"{season['code']}-{code}" if season else code,
                name,
                event_type,
                "season" if season else "lifetime",
                season and season["starts_at"],
                season and season["ends_at"],
                season and season["id"],
                low,
                high,
                season["starts_at"] if season else start,
            )
            await conn.execute(
                "INSERT INTO bench_task VALUES ($1, $2, 1, 'count', $3, $4, $5, $6, $7, $8)",
                task_id,
                f"season:{season['id']}" if season else "lifetime",
                season["starts_at"] if season else start,
                season["ends_at"] if season else now,
                take,
                finish,
                low if low is not None else -1,
                high if high is not None else 32_767,
            )


async def load_seasons(
    conn: asyncpg.Connection,
    step: Callable[..., Awaitable[None]],
    *,
    now: datetime,
    start: datetime,
    span_s: float,
    args: argparse.Namespace,
) -> None:
    """Eight seasons of 45 days, 91 days apart, the last one running now, with tasks,
    progress, completions and grants; two lifetime tasks; one tier benefit; the tasks for
    some tiers only (RESTRICTED_TASKS)."""
    await conn.execute(BENCH_TASK)
    free = await conn.fetchval(
        "INSERT INTO benefit (code, name, description, kind, value, created_at) "
        "VALUES ('free-shipping', 'Free shipping', '', 'free_shipping', '{}', $1) RETURNING id",
        start,
    )
    await conn.executemany(
        "INSERT INTO tier_benefit (tier_code, benefit_id) VALUES ($1, $2)",
        [(code, free) for code in ("silver", "gold", "platinum")],
    )
    # code suffix, name, event type, condition, target, share taking part, share finishing
    seasonal = [
        ("checkin-7", "Check in 7 times", "check_in", "count", 7, 15, 40),
        ("spend-500", "Spend 500", "purchase", "sum", 500, 15, 30),
        ("share-3", "Share 3 times", "share", "count", 3, 15, 50),
    ]
    for k in range(SEASONS):
        starts = now - timedelta(days=20 + (SEASONS - 1 - k) * 91)
        ends = starts + timedelta(days=45)
        season_id = await conn.fetchval(
            "INSERT INTO season (code, name, starts_at, ends_at, description) "
            "VALUES ($1, $2, $3, $4, '') RETURNING id",
            f"season-{k + 1}",
            f"Season {k + 1}",
            starts,
            ends,
        )
        coupon = await conn.fetchval(
            "INSERT INTO benefit (code, name, description, kind, value, created_at) "
            "VALUES ($1, $2, '', 'coupon', $3, $4) RETURNING id",
            f"season-{k + 1}-coupon",
            f"Season {k + 1} coupon",
            json.dumps({"code_prefix": f"S{k + 1}", "percent": 10}),
            starts,
        )
        await conn.execute(
            "INSERT INTO seasonal_benefit (season_id, benefit_id, tier_codes) "
            'VALUES ($1, $2, \'["silver", "gold", "platinum"]\')',
            season_id,
            coupon,
        )
        for suffix, name, event_type, condition, target, take, finish in seasonal:
            task_id = await conn.fetchval(
                "INSERT INTO growth_task (code, name, description, event_type, condition, "
                'target, "window", per_window_limit, cap, starts_at, ends_at, season_id, '
                "reward_points, reward_growth, status, created_at) VALUES ($1, $2, '', $3, $4, "
                "$5, 'season', 1, 1, $6, $7, $8, 100, 50, 'active', $6) RETURNING id",
                f"s{k + 1}-{suffix}",
                name,
                event_type,
                condition,
                target,
                starts,
                ends,
                season_id,
            )
            await conn.execute(
                "INSERT INTO bench_task VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
                task_id,
                f"season:{season_id}",
                target,
                condition,
                starts,
                ends,
                take,
                finish,
            )
    for code, name, event_type, target, take, finish in (
        ("profile", "Complete the profile", "profile_completed", 1, 50, 90),
        ("refer-3", "Refer 3 friends", "referral", 3, 10, 30),
    ):
        task_id = await conn.fetchval(
            "INSERT INTO growth_task (code, name, description, event_type, condition, target, "
            '"window", per_window_limit, cap, reward_points, reward_growth, status, '
            "created_at) VALUES ($1, $2, '', $3, 'count', $4, 'lifetime', 1, 1, 50, 20, "
            "'active', $5) RETURNING id",
            code,
            name,
            event_type,
            target,
            start,
        )
        await conn.execute(
            "INSERT INTO bench_task VALUES ($1, 'lifetime', $2, 'count', $3, $4, $5, $6, "
            "NULL, NULL)",
            task_id,
            target,
            start,
            now,
            take,
            finish,
        )
    await add_restricted_tasks(conn, now=now, start=start)
    await step("task progress", PROGRESS, args.members, start, now, span_s)
    await step("task completions", COMPLETIONS, args.events, start, span_s)
    await step("tier grants", TIER_GRANTS)
    await step("season grants", SEASON_GRANTS, now)


async def time_queries(ctx: Context, args: argparse.Namespace) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for name, query in QUERIES:
        if args.only and args.only not in name:
            continue
        samples: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            try:
                found = await query(ctx)
            except Exception as exc:  # the statement timeout: --give-up
                if "statement timeout" not in str(exc):
                    raise
                samples.append(float("inf"))
                break
            samples.append(time.perf_counter() - started)
            if isinstance(found, Rows):
                ctx.streamed[name] = found.n
            if samples[-1] > args.give_up / 2:  # one slow run says enough
                break
        results[name] = samples
        print(
            f"    {name:34} median {statistics.median(samples):7.3f} s  "
            f"max {max(samples):7.3f} s  ({len(samples)} runs){_rate(ctx, name, samples)}",
            flush=True,
        )
    return results


def _rate(ctx: Context, name: str, samples: list[float]) -> str:
    """Rows per second at the median, for a streaming query."""
    if name not in ctx.streamed:
        return ""
    rows = ctx.streamed[name]
    return f"  ({rows:,} rows, {rows / statistics.median(samples):,.0f} rows/s)"


@asynccontextmanager
async def database(args: argparse.Namespace) -> AsyncIterator[tuple[str, bool]]:
    """The URL to bench and whether it still has to be loaded."""
    if args.reuse:
        yield args.reuse, False
        return
    async with temporary_postgres(keep=args.keep) as url:
        yield url, True
    if args.keep:
        print(f"\nkept the database: --reuse {url}")


async def main(args: argparse.Namespace) -> None:
    async with database(args) as (database_url, fresh):
        settings = bench_settings(database_url)
        await db.migrate(settings)
        if fresh:
            async with db.connect(settings):
                started = time.perf_counter()
                counts = await load(database_url, args, datetime.now(UTC))
            print(
                f"loaded in {time.perf_counter() - started:.0f}s: "
                + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
                flush=True,
            )
        else:
            await top_up(database_url)
        async with db.connect(settings):  # pointsFlow reads the rollup: fold it first
            started = time.perf_counter()
            folded = await fold_points_flow(now=datetime.now(UTC))
        print(f"points flow rollup folded in {time.perf_counter() - started:.1f}s: {folded}")
        name = database_url.rpartition("/")[2]
        conn = await asyncpg.connect(database_url)
        try:
            now, members = await conn.fetchrow("SELECT now, members FROM bench_meta")
            season_id = await conn.fetchval(
                "SELECT id FROM season WHERE ends_at <= $1 ORDER BY ends_at DESC LIMIT 1", now
            )
            task_id = await conn.fetchval(
                "SELECT min(id) FROM growth_task WHERE season_id = $1", season_id
            )
            restricted_task_id = await conn.fetchval(
                "SELECT min(id) FROM growth_task WHERE season_id = $1 "
                "AND min_tier_rank IS NOT NULL",
                season_id,
            )
            draft_id = await conn.fetchval(
                "SELECT id FROM ladder_version WHERE status = 'draft' ORDER BY number LIMIT 1"
            )
            # Sessions opened from here on give up on a statement after --give-up seconds.
            await conn.execute(
                f"ALTER DATABASE \"{name}\" SET statement_timeout = '{int(args.give_up * 1000)}'"
            )
        finally:
            await conn.close()
        ctx = Context(
            now=now,
            members=int(members),
            season_id=season_id,
            task_id=task_id,
            restricted_task_id=restricted_task_id,
            draft_id=draft_id,
        )
        table: dict[str, dict[str, list[float]]] = {}
        try:
            for variant in args.variants.split(","):
                statements = VARIANTS[variant]()
                conn = await asyncpg.connect(database_url)
                try:
                    await conn.execute("SET statement_timeout = 0")
                    await conn.execute("SET maintenance_work_mem = '1GB'")
                    started = time.perf_counter()
                    for statement in statements:
                        await conn.execute(statement)
                    if statements:
                        await conn.execute("VACUUM ANALYZE")
                finally:
                    await conn.close()
                print(f"  {variant} (set up in {time.perf_counter() - started:.1f}s):", flush=True)
                async with db.connect(settings):
                    table[variant] = await time_queries(ctx, args)
        finally:
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute(f'ALTER DATABASE "{name}" RESET statement_timeout')
            finally:
                await conn.close()
    print(
        f"\n{members:,} members, runs {args.runs}, medians and max in seconds "
        f"(target {TARGET_SECONDS:g}s):"
    )
    for variant, results in table.items():
        print(f"  {variant}")
        for name, samples in results.items():
            median = statistics.median(samples)
            verdict = "ok" if median <= TARGET_SECONDS else "MISSES"
            if median == float("inf"):
                verdict = f"MISSES (gave up after {args.give_up:g}s)"
            print(
                f"    {name:34} {median:7.3f}  {max(samples):7.3f}  {verdict}"
                f"{_rate(ctx, name, samples)}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--ledger-rows", type=int, default=20_000_000)
    parser.add_argument("--events", type=int, default=None, help="default: ledger rows / 4")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--give-up",
        type=float,
        default=60.0,
        help="statement timeout, s (one run over half is enough)",
    )
    parser.add_argument("--only", default="", help="time only queries whose name contains this")
    parser.add_argument(
        "--variants", default="as-migrated", help=f"comma-separated, of: {', '.join(VARIANTS)}"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--keep", action="store_true", help="keep the database, print its URL")
    group.add_argument("--reuse", metavar="URL", help="a database kept by --keep: skip loading")
    parsed = parser.parse_args()
    if parsed.events is None:
        parsed.events = parsed.ledger_rows // 4
    asyncio.run(main(parsed))
