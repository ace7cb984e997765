"""A season grant survives its worker being killed: a real arq worker process, granting a
season to 100,000 members on PostgreSQL, is ``kill -9``-ed mid-grant; a new worker
finishes, and every eligible member ends with exactly one grant."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
from arq import create_pool
from arq.connections import RedisSettings

from app import db
from app.models import Benefit, Season, SeasonalBenefit, Tier
from gamification.benefits import BenefitKind
from tests import factories
from workers.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 100_000
ELIGIBLE = ("silver", "gold")


@contextmanager
def worker_process(settings, redis_url: str, queue: str) -> Iterator[subprocess.Popen[str]]:
    """``arq`` as deployed (the production functions), on the test's queue and database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env.update(
        LAUREL_DATABASE_URL=settings.database_url,
        LAUREL_REDIS_URL=redis_url,
        LAUREL_TEST_QUEUE=queue,
        LAUREL_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "arq", "tests.workers.season_worker.WorkerSettings"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


async def bulk_members(url: str, tiers: dict[str, int]) -> None:
    """100,000 members in one statement, spread over the three tiers by id."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO member (external_id, display_name, joined_at, tier_id, points_balance, "
            "growth, lifetime_points, created_at, updated_at) "
            "SELECT 'bulk-' || n, 'Member ' || n, now() - interval '1 day', "
            "(ARRAY[$1, $2, $3]::bigint[])[n % 3 + 1], 0, 0, 0, "
            "now() - interval '1 day', now() - interval '1 day' "
            "FROM generate_series(1, $4) AS n",
            tiers["member"],
            tiers["silver"],
            tiers["gold"],
            MEMBERS,
        )
    finally:
        await conn.close()


async def grant_count(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM benefit_grant"))
    finally:
        await conn.close()


async def test_a_worker_killed_mid_grant_is_finished_by_the_next_without_a_double_grant(
    postgres_settings, redis_url
):
    settings = postgres_settings
    url = settings.database_url
    async with db.connect(settings):
        await factories.ladder()
        tiers = dict(await Tier.all().values_list("code", "id"))
        now = factories.now()
        season = await Season.create(
            code="festival",
            name="Festival",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=3),
        )
        coupon = await Benefit.create(
            code="lantern",
            name="Lantern",
            kind=BenefitKind.COUPON,
            value={"code_prefix": "LNT", "percent": 8},
        )
        await SeasonalBenefit.create(season=season, benefit=coupon, tier_codes=list(ELIGIBLE))
    await bulk_members(url, tiers)
    eligible = sum(1 for n in range(1, MEMBERS + 1) if n % 3 != 0)

    queue = f"laurel-test-{uuid.uuid4().hex}"
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
        default_queue_name=queue,
    )
    try:
        # Small batches, so that the first worker is caught in the middle.
        grant = {"season_id": season.id, "batch_size": 1_000}
        with worker_process(settings, redis_url, queue) as first:
            await pool.enqueue_job("grant_season_benefits", **grant, _job_id=f"{queue}-first")
            deadline = time.monotonic() + 30
            # Past a quarter, so that the kill lands mid-sweep rather than at its start.
            while (count := await grant_count(url)) <= eligible // 4:
                assert first.poll() is None, first.communicate()[0]
                assert time.monotonic() < deadline, "the first worker never started granting"
                await asyncio.sleep(0.01)
            assert count < eligible, "the first worker finished before it could be killed"
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        committed = await grant_count(url)
        assert 0 < committed < eligible, committed

        with worker_process(settings, redis_url, queue) as second:
            job = await pool.enqueue_job(
                "grant_season_benefits", **grant, _job_id=f"{queue}-second"
            )
            assert job is not None
            finished = await job.result(timeout=60, poll_delay=0.1)
            assert second.poll() is None
    finally:
        await pool.aclose()

    assert finished == eligible - committed  # it resumed: nothing granted twice or skipped
    conn = await asyncpg.connect(url)
    try:
        per_member = await conn.fetch(
            "SELECT t.code, count(g.id) AS grants, count(*) AS members FROM member m "
            "JOIN tier t ON t.id = m.tier_id "
            "LEFT JOIN benefit_grant g ON g.member_id = m.id "
            "GROUP BY t.code, g.member_id IS NULL ORDER BY t.code"
        )
        doubled = await conn.fetchval(
            "SELECT count(*) FROM (SELECT member_id FROM benefit_grant "
            "GROUP BY member_id HAVING count(*) > 1) AS d"
        )
    finally:
        await conn.close()
    assert doubled == 0
    assert {(r["code"], r["grants"], r["members"]) for r in per_member} == {
        ("gold", MEMBERS // 3, MEMBERS // 3),
        ("member", 0, MEMBERS // 3),
        ("silver", MEMBERS // 3 + 1, MEMBERS // 3 + 1),
    }
