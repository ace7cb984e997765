"""Leaderboards at scale: rank reads from Redis and from SQL, and the rebuild, on 1M members.

Creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (``laurel_bench_<random>``,
dropped at the end), migrates it, bulk-loads ``--members`` members with one all-time
points score each (INSERT ... SELECT generate_series; 0.1% opted out, 0.1% flagged) and
VACUUM ANALYZEs. Then, each ``--rounds`` times, the table quoting the medians of rounds:

- rebuild: the board's Redis set recomputed from SQL (RedisBoardIndex.rebuild);
- redis standing: RedisBoardIndex.standing for random members (in-process, one client);
- sql standing: SqlBoardReader.standing for random members.

Sections are plain ``async def section(ctx) -> dict[str, float]`` functions listed in
SECTIONS; an HTTP/GraphQL section can be added beside them and sees the same context
(settings, board, member ids).

    .venv/bin/python bench/leaderboard.py [--members 1000000] [--rounds 3] [--reads 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from _databases import (
    REDIS_URL,
    bulk_members,
    figures_line,
    medians,
    migrated_postgres,
    redis_prefix,
    redis_under,
)
from redis.asyncio import Redis

from app.config import Settings
from app.models import Leaderboard
from app.services.leaderboards.index import RedisBoardIndex, board_view
from app.services.leaderboards.sql import SqlBoardReader
from app.services.tiers.ladder import publish_ladder
from gamification.leaderboards import Metric, Period, scope_of
from gamification.tiers.ladder import TierRule


@dataclass
class Context:
    settings: Settings
    board: Leaderboard
    member_ids: list[int]
    reads: int
    redis: Redis
    index: RedisBoardIndex
    extra: dict[str, object] = field(default_factory=dict)


async def load(database_url: str, members: int) -> None:
    """Bulk rows straight into the tables: the services would take hours for a million."""
    now = datetime.now(UTC)
    version = await publish_ladder(
        tiers=(TierRule("member", "Member", 0, 0, 0, 1),),
        effective_at=now - timedelta(days=1),
        now=now - timedelta(days=1),
    )
    tier_id = (await version.tiers.all())[0].id
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            bulk_members(count="$2", tier_id="$1"),
            tier_id,
            members,
        )
        await conn.execute(
            "INSERT INTO leaderboard_score (metric, period_key, scope, member_id, score, "
            "reached_at, reached_seq) SELECT 'points_earned', 'lifetime', $1, m.id, "
            "(random() * 100000)::bigint, "
            "date_trunc('second', now() - random() * interval '300 days'), m.id FROM member m",
            scope_of(Metric.POINTS_EARNED, "lifetime"),
        )
        await conn.execute(
            "INSERT INTO leaderboard_member (member_id, visible, flagged_at, flag_reason, "
            "updated_at) SELECT id, id % 2 = 0, CASE WHEN id % 2 = 1 THEN now() END, '', now() "
            "FROM member WHERE id % 1000 = 7 OR id % 1000 = 8"
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def timed_reads(ctx: Context, read: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    picks = random.sample(ctx.member_ids, min(ctx.reads, len(ctx.member_ids)))
    for member_id in picks[:20]:  # warm connections and caches
        await read(member_id)
    samples = []
    for member_id in picks:
        started = time.perf_counter()
        await read(member_id)
        samples.append((time.perf_counter() - started) * 1000)
    p50, p99 = percentiles(samples)
    return {"p50 ms": p50, "p99 ms": p99}


async def rebuild(ctx: Context) -> dict[str, float]:
    started = time.perf_counter()
    count = await ctx.index.rebuild(ctx.board, "lifetime")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "entries": float(count)}


async def redis_standing(ctx: Context) -> dict[str, float]:
    view = board_view(ctx.board, "lifetime")
    return await timed_reads(ctx, lambda m: ctx.index.standing(view, m))


async def sql_standing(ctx: Context) -> dict[str, float]:
    view = board_view(ctx.board, "lifetime")
    reader = SqlBoardReader()
    return await timed_reads(ctx, lambda m: reader.standing(view, m))


SECTIONS: list[tuple[str, Callable[[Context], Awaitable[dict[str, float]]]]] = [
    ("rebuild", rebuild),
    ("redis standing", redis_standing),
    ("sql standing", sql_standing),
]


async def main(args: argparse.Namespace) -> None:
    prefix = redis_prefix()
    async with (
        migrated_postgres(redis_url=REDIS_URL, redis_prefix=prefix) as settings,
        redis_under(prefix) as redis,
    ):
        database_url = settings.database_url
        started = time.perf_counter()
        await load(database_url, args.members)
        print(f"loaded {args.members:,} members in {time.perf_counter() - started:.1f}s")
        board = await Leaderboard.create(
            code="bench",
            name="Bench",
            metric=Metric.POINTS_EARNED,
            period=Period.ALL_TIME,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
        )
        conn = await asyncpg.connect(database_url)
        member_ids = [r["id"] for r in await conn.fetch("SELECT id FROM member")]
        await conn.close()
        index = RedisBoardIndex(redis, prefix=prefix, zone=settings.zone)
        ctx = Context(settings, board, member_ids, args.reads, redis, index)
        results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in SECTIONS}
        for round_ in range(1, args.rounds + 1):
            for name, section in SECTIONS:
                figures = await section(ctx)
                results[name].append(figures)
                print(f"round {round_} {name}: {figures_line(figures)}", flush=True)
    print(f"\nmedians of {args.rounds} rounds, {args.members:,} members, {args.reads} reads:")
    for name, rounds in results.items():
        print(f"  {name:16} {figures_line(medians(rounds))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reads", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
