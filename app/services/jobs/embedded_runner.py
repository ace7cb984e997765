"""The embedded job runner: with no Redis, the API process runs the schedule itself.

One process, so SQLite is never written from two. Every minute it runs each job's due
slot (``app.services.jobs.schedule.run_job`` makes a slot run once, here as under arq). A
failing job is logged and retried at the next tick; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.clock import Clock, system_clock
from app.config import Settings
from app.services.jobs.schedule import SCHEDULE, ScheduledJob, run_job

logger = logging.getLogger("laurel.scheduler")
TICK_SECONDS = 60.0


class EmbeddedScheduler:
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: tuple[ScheduledJob, ...] = SCHEDULE,
        clock: Clock = system_clock,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="embedded-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        for job in self.jobs:
            try:
                await run_job(job, settings=self.settings, clock=self.clock)
            except Exception:
                logger.exception(
                    "job failed; it runs again at the next tick",
                    extra={"fields": {"job": job.name}},
                )

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.tick_seconds)
