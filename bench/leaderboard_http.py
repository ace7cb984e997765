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
import os
import signal
import socket
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _databases import temporary_postgres  # noqa: E402

from app import db  # noqa: E402
from app.api.schema import build_schema  # noqa: E402
from app.api.shared.context import Context  # noqa: E402
from app.auth import Principal, Role, mint_token  # noqa: E402
from app.config import Settings  # noqa: E402
from app.observability import Metrics  # noqa: E402
from app.services.leaderboards.boards import BoardDefinition, board_in_period, create_board  # noqa: E402
from app.services.leaderboards.index import BoardReads, RedisBoardIndex  # noqa: E402
from app.services.leaderboards.sql import SqlBoardReader  # noqa: E402
from app.services.notifications.updates import LocalBroker  # noqa: E402
from app.services.programme.demo import load_demo  # noqa: E402
from app.services.shared.audit import Actor  # noqa: E402
from gamification.leaderboards import Metric, Period, scope_of  # noqa: E402

POSTGRES_URL = os.environ.get(
    "LAUREL_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LAUREL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-" + "x" * 32
TOP = (ROOT / "graphql" / "operations" / "leaderboards.graphql").read_text()
UNCACHED = TOP.replace(
    "leaderboard(code: $code, period: $period) {",
    "leaderboard(code: $code, period: $period) @include(if: true) {",
)
CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(settings: Settings, members: int) -> None:
    await db.migrate(settings)
    async with db.connect(settings):
        now = datetime.now(UTC)
        await load_demo(now=now)
        conn = db.connection()
        tier = await conn.execute_query_dict("SELECT min(id) AS id FROM tier")
        await conn.execute_query(
            "INSERT INTO member (external_id, display_name, joined_at, tier_id, points_balance, "
            "growth, lifetime_points, created_at, updated_at) "
            "SELECT 'bench-' || g, 'Member ' || g, $1, $2, 0, 0, 0, $1, $1 "
            "FROM generate_series(1, $3) g",
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


async def serve(env: dict[str, str], workers: int) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await asyncio.sleep(0.5 * workers)  # every worker up
            return process, port
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("uvicorn did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    async with temporary_postgres(POSTGRES_URL) as url:
        await measure(args, url)


async def measure(args: argparse.Namespace, url: str) -> None:
    prefix = f"laurel-bench-{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        database_url=url,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        jwt_secret=SECRET,
        load_demo=False,
        log_level="WARNING",
    )
    redis = Redis.from_url(REDIS_URL)
    try:
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
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "LAUREL_DATABASE_URL": url,
                "LAUREL_REDIS_URL": REDIS_URL,
                "LAUREL_REDIS_PREFIX": prefix,
                "LAUREL_JWT_SECRET": SECRET,
                "LAUREL_LOAD_DEMO": "false",
                "LAUREL_LOG_LEVEL": "WARNING",
                "LAUREL_ENV": "production",
            }
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
            servers = [await serve(env, workers) for workers in (1, 2)]
            try:
                for _ in range(args.rounds):
                    figures.setdefault("(a) in-process", []).append(
                        await in_process(settings, args.seconds, reads)
                    )
                    for (_, port), workers in zip(servers, (1, 2), strict=True):
                        figures.setdefault(f"(b) HTTP, {workers} worker(s)", []).append(
                            await load(port, uncached, token, args.seconds)
                        )
                        figures.setdefault(f"(c) HTTP cached, {workers} worker(s)", []).append(
                            await load(port, cached, token, args.seconds)
                        )
            finally:
                for process, _ in servers:
                    process.send_signal(signal.SIGINT)
                    await process.wait()
        ceiling = statistics.median(figures["(a) in-process"])
        print(f"\nTop-50 page of a {args.members:,}-member board, medians of {args.rounds} rounds")
        print(f"{'variant':32} {'per second':>12} {'x (a)':>8}")
        for label, values in figures.items():
            value = statistics.median(values)
            print(f"{label:32} {value:12,.0f} {value / ceiling:8.2f}")
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
