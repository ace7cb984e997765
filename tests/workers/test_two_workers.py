"""Two real arq worker processes on one Redis never run one job slot twice."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from arq import create_pool
from arq.connections import RedisSettings

from app import db
from app.models import JobRun, JobRunStatus, TierChange, TierChangeReason
from app.services.tiers.ladder import publish_ladder
from gamification.tiers.ladder import TierRule
from tests import factories
from workers.settings import WorkerSettings

ROOT = Path(__file__).resolve().parent.parent.parent


async def test_two_workers_given_the_same_slot_run_it_once(postgres_settings, redis_url):
    settings = postgres_settings
    async with db.connect(settings):
        await factories.task(code="big", reward_growth=6_000)
        for _ in range(3):
            member = await factories.member()
            await factories.event(member, "check_in")  # promoted to Gold
        await publish_ladder(
            tiers=(
                TierRule("base", "Base", 0, 0, 0, Decimal("1")),
                TierRule("star", "Star", 1, 2_000, 1_500, Decimal("1.2")),
            ),
            effective_at=factories.now() - timedelta(seconds=1),
            now=factories.now(),
        )
    prefix = f"laurel-test-{uuid.uuid4().hex[:8]}:"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env.update(
        LAUREL_DATABASE_URL=settings.database_url,
        LAUREL_REDIS_URL=redis_url,
        LAUREL_REDIS_PREFIX=prefix,
        LAUREL_JWT_SECRET=settings.jwt_secret,
        LAUREL_LOG_LEVEL="WARNING",
    )
    pool = await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
        default_queue_name=prefix + "queue",
    )
    # The same slot, fired twice (as two workers' cron ticks would), for two workers.
    jobs = [
        await pool.enqueue_job("ladder_switch", slot="switch-test", _job_id=f"{prefix}fire-{n}")
        for n in range(2)
    ]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arq",
            "--burst",
            "workers.settings.WorkerSettings",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    try:
        results = [await job.result(timeout=60) for job in jobs]
    finally:
        outputs = [(await worker.communicate())[0].decode() for worker in workers]
        await pool.aclose()
    assert all(w.returncode == 0 for w in workers), outputs
    assert sorted(results, key=lambda r: r is None) == [{"moved": 3, "changed_rank": 3}, None]
    async with db.connect(settings):
        assert await TierChange.filter(reason=TierChangeReason.LADDER_CHANGE).count() == 3
        run = await JobRun.get(name="ladder_switch", slot="switch-test")
        assert (run.status, run.attempts) == (JobRunStatus.DONE, 1)
