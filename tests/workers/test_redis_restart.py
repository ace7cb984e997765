"""Redis restarts while a worker runs: under a supervisor that restarts the worker (as
compose's restart policy does), queued work still runs and nothing is lost.

Uses a Redis server of its own (append-only, as in docker-compose.yml) so that it can be
restarted without disturbing anything else.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job

from app import db
from app.models import JobRun, JobRunStatus, TierChange, TierChangeReason
from app.services.tiers.ladder import publish_ladder
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.live import free_port
from workers.settings import WorkerSettings

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_SERVER = shutil.which("redis-server")


@asynccontextmanager
async def redis_server(port: int, directory: Path) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        *(REDIS_SERVER or "redis-server", "--port", str(port), "--bind", "127.0.0.1"),
        *("--appendonly", "yes", "--dir", str(directory), "--save", ""),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=_real_clock_env(),
    )
    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield
    finally:
        process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        await process.wait()


def _real_clock_env() -> dict[str, str]:
    """The environment without libfaketime: Redis is a server with a clock of its own, as
    in production, and libfaketime (which `make test-dates` runs the suite under) cannot
    start it."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}


async def _clear_of_the_minute_cron() -> None:
    """Wait for a moment well after second 0: the worker's cron runs ``ladder_switch`` for
    every minute's slot at second 0, and if it switched the member first, the queued job
    this test follows would find nothing left to move (seen about one run in eight)."""
    now = datetime.now(UTC)
    into_the_minute = now.second + now.microsecond / 1e6
    if not 2 <= into_the_minute <= 30:
        await asyncio.sleep((62 - into_the_minute) % 60)


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "arq", "workers.settings.WorkerSettings"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


@pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")
async def test_work_queued_across_a_redis_restart_runs_under_the_supervisor(
    postgres_settings, tmp_path
):
    settings = postgres_settings
    async with db.connect(settings):
        await factories.task(code="big", reward_growth=6_000)
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
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    prefix = f"laurel-test-{uuid.uuid4().hex[:8]}:"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env.update(
        LAUREL_DATABASE_URL=settings.database_url,
        LAUREL_REDIS_URL=url,
        LAUREL_REDIS_PREFIX=prefix,
        LAUREL_JWT_SECRET=settings.jwt_secret or "",
        LAUREL_LOG_LEVEL="WARNING",
    )
    workers: list[asyncio.subprocess.Process] = []
    await _clear_of_the_minute_cron()
    try:
        async with redis_server(port, tmp_path):
            workers.append(await start_worker(env))
            await asyncio.sleep(1.5)  # the worker is up and polling
            pool = await create_pool(
                RedisSettings.from_dsn(url),
                job_serializer=WorkerSettings.job_serializer,
                job_deserializer=WorkerSettings.job_deserializer,
                default_queue_name=prefix + "queue",
            )
            # Queued while the worker is busy elsewhere: it must survive the restart.
            job = await pool.enqueue_job(
                "ladder_switch", slot="restart-test", _job_id=f"{prefix}job", _defer_by=3
            )
            assert job is not None
            await pool.aclose()
        # Redis is down (longer than the worker's poll interval); then back, with its
        # append-only file.
        await asyncio.sleep(1.5)
        async with redis_server(port, tmp_path):
            pool = await create_pool(
                RedisSettings.from_dsn(url),
                job_serializer=WorkerSettings.job_serializer,
                job_deserializer=WorkerSettings.job_deserializer,
                default_queue_name=prefix + "queue",
            )
            job = Job(
                f"{prefix}job",
                pool,
                _queue_name=prefix + "queue",
                _deserializer=WorkerSettings.job_deserializer,
            )
            try:
                # The supervisor: a worker that exited on the outage is started again.
                result = None
                for _ in range(60):
                    if workers[-1].returncode is not None:
                        workers.append(await start_worker(env))
                    try:
                        result = await job.result(timeout=0.5)
                        break
                    except TimeoutError:
                        continue
            finally:
                await pool.aclose()
            # Stopped while Redis is up, the last worker shuts down cleanly.
            last = workers[-1]
            last.terminate()
            assert await last.wait() == 0
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.terminate()
                await worker.wait()
    # The outage stopped the first worker (arq exits when Redis goes away); the
    # supervisor's second one ran the job.
    assert len(workers) == 2 and workers[0].returncode != 0
    assert result == {"moved": 1, "changed_rank": 1}
    async with db.connect(settings):
        assert await TierChange.filter(reason=TierChangeReason.LADDER_CHANGE).count() == 1
        run = await JobRun.get(name="ladder_switch", slot="restart-test")
        assert run.status is JobRunStatus.DONE
