"""The top-50 page of a board over HTTP, against the GraphQL ceiling, cached and not.

On PostgreSQL and Redis (the production shape): a database created beside
LAUREL_BENCH_POSTGRES_URL (dropped after) holds the demo programme plus --members members
with scores on one all-time board, indexed in Redis under a fresh prefix. Measured in the
same run, each variant --rounds rounds of --seconds, medians printed side by side:

- (a) in-process: strawberry executing LeaderboardTop (50 entries x 5 fields) with the
  app's own context: executions/s, the GraphQL ceiling;
- (b) HTTP through ``uvicorn --workers 1`` and ``--workers 2``, 32 keep-alive connections
  from a raw asyncio client, uncached: the same document with an ``@include(if: true)``,
  which the top-page cache leaves alone (it does not reason about directives);
- (c) HTTP cached: LeaderboardTop itself, answered from the cache keyed by the board's
  version (the board does not change during the run).

    .venv/bin/python bench/leaderboard_http.py [--members 10000] [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from _databases import (
    REDIS_URL,
    ROOT,
    bulk_members,
    connected,
    redis_prefix,
    redis_under,
    server_env,
    settings_of,
    temporary_postgres,
    uvicorn_server,
)

from app import db
from app.api.schema import build_schema
from app.api.shared.context import Context
from app.auth import Principal, Role, mint_token
from app.config import Settings
from app.observability import Metrics
from app.services.leaderboards.boards import BoardDefinition, board_in_period, create_board
from app.services.leaderboards.index import BoardReads, RedisBoardIndex
from app.services.leaderboards.sql import SqlBoardReader
from app.services.notifications.updates import LocalBroker
from app.services.programme.demo import load_demo
from app.services.shared.audit import Actor
from gamification.leaderboards import Metric, Period, scope_of

TOP = (ROOT / "graphql" / "operations" / "leaderboards.graphql").read_text()
UNCACHED = TOP.replace(
    "leaderboard(code: $code, period: $period) {",
    "leaderboard(code: $code, period: $period) @include(if: true) {",
)
CONNECTIONS = 32


async def seed(settings: Settings, members: int) -> None:
    async with connected(settings):
        now = datetime.now(UTC)
        await load_demo(now=now)
        conn = db.connection()
        tier = await conn.execute_query_dict("SELECT min(id) AS id FROM tier")
        await conn.execute_query(
            bulk_members(count="$3", tier_id="$2", joined_at="$1"),
            [now, tier[0]["id"], members],
        )
        await conn.execute_query(
            "INSERT INTO leaderboard_score (metric, period_key, scope, member_id, score, "
            "reached_at, reached_seq) SELECT 'points_earned', 'lifetime', $2, id, "
            "(id * 7919) % 100000, $1, id FROM member ON CONFLICT DO NOTHING",
            [now.replace(microsecond=0), scope_of(Metric.POINTS_EARNED, "lifetime")],
        )
        await create_board(
            definition=BoardDefinition(
                code="top", name="Top earners", metric=Metric.POINTS_EARNED, period=Period.ALL_TIME
            ),
            actor=Actor(subject="bench", role="admin"),
            now=now,
        )


async def in_process(settings: Settings, seconds: float, reads: BoardReads) -> float:
    """Executions/s of LeaderboardTop by strawberry in this process, CONNECTIONS at once
    (as many as the HTTP clients keep busy, so that waits on Redis and the database
    overlap the same way)."""
    schema = build_schema(production=True)
    metrics = Metrics()
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            context = Context(
                request=None,  # type: ignore[arg-type]
                response=None,
                settings=settings,
                metrics=metrics,
                updates=LocalBroker(),
                boards=reads,
                principal=Principal(subject="bench", role=Role.MEMBER, member_id=1),
            )
            result = await schema.execute(
                TOP,
                {"code": "top", "first": 50},
                context_value=context,
                operation_name="LeaderboardTop",
            )
            assert result.errors is None, result.errors
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return count / (time.perf_counter() - started)


async def load(port: int, body: bytes, token: str, seconds: float) -> float:
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    done = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), head
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                payload = await reader.readexactly(length)
                assert b'"errors"' not in payload, payload[:300]
                assert payload.count(b'"rank"') == 50, payload[:300]
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return done / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    async with temporary_postgres() as url:
        await measure(args, url)


async def measure(args: argparse.Namespace, url: str) -> None:
    prefix = redis_prefix()
    env = server_env(url, redis_url=REDIS_URL, redis_prefix=prefix)
    settings = settings_of(env)
    async with redis_under(prefix) as redis:
        print(f"seeding {args.members:,} members on one board ...", flush=True)
        await seed(settings, args.members)
        async with db.connect(settings):
            from app.models import Leaderboard

            index = RedisBoardIndex(redis, prefix=prefix, zone=settings.zone)
            board = await Leaderboard.get(code="top")
            opened = await board_in_period(
                board, period=None, now=datetime.now(UTC), zone=settings.zone
            )
            await index.rebuild(board, opened.view.period_key)
            reads = BoardReads(sql=SqlBoardReader(), index=index, timeout=0.5)
            token = mint_token(
                settings=settings,
                role=Role.MEMBER,
                subject="bench",
                member_id=1,
                now=datetime.now(UTC),
            )
            variables = {"code": "top", "first": 50}
            cached = json.dumps(
                {"query": TOP, "operationName": "LeaderboardTop", "variables": variables}
            ).encode()
            uncached = json.dumps(
                {"query": UNCACHED, "operationName": "LeaderboardTop", "variables": variables}
            ).encode()
            figures: dict[str, list[float]] = {}
            async with AsyncExitStack() as servers:
                ports = {
                    workers: await servers.enter_async_context(uvicorn_server(env, workers=workers))
                    for workers in (1, 2)
                }
                for _ in range(args.rounds):
                    figures.setdefault("(a) in-process", []).append(
                        await in_process(settings, args.seconds, reads)
                    )
                    for workers, port in ports.items():
                        figures.setdefault(f"(b) HTTP, {workers} worker(s)", []).append(
                            await load(port, uncached, token, args.seconds)
                        )
                        figures.setdefault(f"(c) HTTP cached, {workers} worker(s)", []).append(
                            await load(port, cached, token, args.seconds)
                        )
        ceiling = statistics.median(figures["(a) in-process"])
        print(f"\nTop-50 page of a {args.members:,}-member board, medians of {args.rounds} rounds")
        print(f"{'variant':32} {'per second':>12} {'x (a)':>8}")
        for label, values in figures.items():
            value = statistics.median(values)
            print(f"{label:32} {value:12,.0f} {value / ceiling:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
