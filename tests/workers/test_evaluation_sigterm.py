"""A real arq worker evaluating 50,000 members on PostgreSQL is killed with SIGTERM half-way;
a second run finishes the evaluation, and every member below retention has dropped
exactly one tier, none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from arq import create_pool
from arq.connections import RedisSettings

from app import db
from app.models import Tier
from app.services.tiers.ladder import publish_ladder
from gamification.tiers.evaluation import demotion_target
from tests import factories
from workers.settings import WorkerSettings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent.parent
MEMBERS = 50_000
BATCH = 1_000


async def load_members(url: str, tiers: dict[str, Tier]) -> None:
    """50,000 members spread over the three tiers with growth on both sides of retention."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO member (external_id, display_name, joined_at, tier_id, "
            "points_balance, growth, lifetime_points, created_at, updated_at) "
            "SELECT 'm-' || g, 'Member ' || g, now(), "
            "(ARRAY[$1, $2, $3]::int[])[1 + g % 3], 0, (g * 7919) % 6000, 0, now(), now() "
            "FROM generate_series(1, $4) g",
            tiers["member"].id,
            tiers["silver"].id,
            tiers["gold"].id,
            MEMBERS,
        )
    finally:
        await conn.close()


def start_worker(
    settings, redis_url: str, queue: str, *, log: Path, burst: bool
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LAUREL_DATABASE_URL": settings.database_url,
        "LAUREL_REDIS_URL": redis_url,
        "LAUREL_TEST_QUEUE": queue,
        "LAUREL_JWT_SECRET": "test-secret-" + "x" * 32,
        "LAUREL_LOG_LEVEL": "WARNING",
    }
    args = [sys.executable, "-m", "arq", "tests.workers.evaluation_worker.WorkerSettings"]
    with log.open("ab") as out:  # the child keeps its own handle
        return subprocess.Popen(
            [*args, "--burst"] if burst else args,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def cursor(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(next_member_id), 0) FROM tier_evaluation")


async def test_sigterm_half_way_then_a_rerun_demotes_every_member_once(
    postgres_settings, redis_url, tmp_path
):
    settings = postgres_settings
    async with db.connect(settings):
        version = await publish_ladder(
            tiers=factories.LADDER,
            effective_at=datetime(2020, 1, 1, tzinfo=UTC),
            now=datetime(2020, 1, 1, tzinfo=UTC),
        )
        tiers = {t.code: t for t in await Tier.filter(ladder_version_id=version.id)}
    await load_members(settings.database_url, tiers)
    conn = await asyncpg.connect(settings.database_url)
    before = {
        r["id"]: (r["tier_id"], r["growth"])
        for r in await conn.fetch("SELECT id, tier_id, growth FROM member")
    }
    by_id = {t.id: t for t in tiers.values()}
    rules = [t.to_rule() for t in sorted(tiers.values(), key=lambda t: t.rank)]
    expected = {
        member_id: demotion_target(rules, current=by_id[tier_id].to_rule(), growth=growth).code
        for member_id, (tier_id, growth) in before.items()
    }
    should_drop = {m for m, code in expected.items() if code != by_id[before[m][0]].code}

    queue = f"laurel-test-{uuid.uuid4().hex}"
    redis = RedisSettings.from_dsn(redis_url)
    pool = await create_pool(
        redis,
        default_queue_name=queue,
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
    )
    log = tmp_path / "workers.log"
    worker = start_worker(settings, redis_url, queue, log=log, burst=False)
    try:
        await pool.enqueue_job("apply_tier_evaluation", evaluation="2026-12-01", batch_size=BATCH)
        # SIGTERM once a fifth of the members are done.
        deadline = time.monotonic() + 30
        while await cursor(conn) < MEMBERS // 5:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker never started the evaluation"
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, timeout=20)
        assert worker.returncode == 0, log.read_text()
        stopped_at = await cursor(conn)
        dropped_then = await conn.fetchval(
            "SELECT count(*) FROM tier_change WHERE reason = 'demotion'"
        )
        assert stopped_at < MEMBERS and 0 < dropped_then < len(should_drop)

        # The rerun: arq runs the cancelled job again; a second request races it.
        await pool.enqueue_job("apply_tier_evaluation", evaluation="2026-12-01", batch_size=BATCH)
        rerun = start_worker(settings, redis_url, queue, log=log, burst=True)
        await asyncio.to_thread(rerun.wait, timeout=60)
        assert rerun.returncode == 0, log.read_text()

        after = {
            r["id"]: r["code"]
            for r in await conn.fetch(
                "SELECT m.id, t.code FROM member m JOIN tier t ON t.id = m.tier_id"
            )
        }
        assert after == expected
        changes = await conn.fetch(
            "SELECT member_id, count(*) AS n FROM tier_change WHERE reason = 'demotion' "
            "GROUP BY member_id"
        )
        assert {r["member_id"] for r in changes} == should_drop
        assert max(r["n"] for r in changes) == 1
        for table, where in (
            ("notification", "kind = 'tier_down'"),
            ("outbox", "topic = 'leaderboard.member_changed'"),
        ):
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}") == len(
                should_drop
            )
        assert await conn.fetchval("SELECT finished_at IS NOT NULL FROM tier_evaluation")
    finally:
        if worker.poll() is None:
            worker.kill()
        await pool.aclose()
        await conn.close()
