"""The scheduled jobs as arq functions: each fires every minute and runs its due slot once
across all workers (app/services/jobs/schedule.py says what runs when)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from app.services.jobs.schedule import SCHEDULE, ScheduledJob, run_job


def scheduled(job: ScheduledJob) -> Callable[..., Awaitable[dict[str, Any] | None]]:
    """The arq function of a scheduled job, named after it. Cron fires it every minute; it
    runs the job's due slot once across all workers (or the ``slot`` given, to re-run one
    by hand: ``laurel jobs run NAME --slot ...``)."""

    async def run(ctx: dict[str, Any], *, slot: str | None = None) -> dict[str, Any] | None:
        return await run_job(
            job, settings=ctx["settings"], clock=lambda: datetime.now(UTC), slot=slot
        )

    run.__name__ = run.__qualname__ = job.name
    return run


SCHEDULED = [scheduled(job) for job in SCHEDULE]
