"""Running a scheduled job's slot exactly once across workers, and surviving crashes.

A worker claims (job, slot) by inserting its ``job_run`` row; the unique (name, slot)
lets only one insert win, so two workers firing the same cron tick never both run it. A
claimed run that stops beating (its worker was killed) is taken over after its lease by
the next worker that fires; the job's work is idempotent, so finishing what a dead
worker began is safe. A finished slot is never run again; a failed one is retried on the
next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from app.models.jobs import JobRun, JobRunStatus

logger = logging.getLogger("laurel.jobs")

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Claim:
    run_id: int
    attempts: int


async def claim(*, name: str, slot: str, now: datetime, lease: timedelta) -> Claim | None:
    """The run of (name, slot) for this worker, or None when it is done or another worker
    holds it."""
    # The common case, a slot already done, in one read (daily jobs fire every minute).
    if await JobRun.exists(name=name, slot=slot, status=JobRunStatus.DONE):
        return None
    try:
        run = await JobRun.create(
            name=name,
            slot=slot,
            status=JobRunStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
        )
        return Claim(run_id=run.id, attempts=1)
    except IntegrityError:
        pass
    # Taken over only if it failed or its worker went silent: one conditional UPDATE, so
    # two workers cannot both take it.
    taken = await JobRun.filter(
        Q(status=JobRunStatus.FAILED)
        | Q(status=JobRunStatus.RUNNING, heartbeat_at__lt=now - lease),
        name=name,
        slot=slot,
    ).update(
        status=JobRunStatus.RUNNING,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        error="",
    )
    if not taken:
        return None
    run = await JobRun.get(name=name, slot=slot)
    return Claim(run_id=run.id, attempts=run.attempts)


async def beat(run_id: int, *, now: datetime) -> None:
    """Tell other workers this run is alive (long jobs call it between batches)."""
    await JobRun.filter(id=run_id, status=JobRunStatus.RUNNING).update(heartbeat_at=now)


async def finish(run_id: int, *, now: datetime, result: dict[str, Any]) -> None:
    await JobRun.filter(id=run_id).update(
        status=JobRunStatus.DONE, finished_at=now, heartbeat_at=now, result=result
    )


async def fail(run_id: int, *, now: datetime, error: str) -> None:
    await JobRun.filter(id=run_id).update(
        status=JobRunStatus.FAILED, heartbeat_at=now, error=error[:2000]
    )


Work = Callable[[Callable[[], Awaitable[None]]], Awaitable[dict[str, Any]]]


async def run_slot(
    *,
    name: str,
    slot: str,
    work: Work,
    now: datetime,
    clock: Callable[[], datetime],
    lease: timedelta = DEFAULT_LEASE,
) -> dict[str, Any] | None:
    """Run ``work`` for (name, slot) unless it is done or running elsewhere; its result,
    or None when this worker did not run it. ``work`` gets a heartbeat to call between
    batches."""
    claimed = await claim(name=name, slot=slot, now=now, lease=lease)
    if claimed is None:
        return None

    async def heartbeat() -> None:
        await beat(claimed.run_id, now=clock())

    try:
        result = await work(heartbeat)
    except Exception as exc:
        await fail(claimed.run_id, now=clock(), error=f"{type(exc).__name__}: {exc}")
        raise
    await finish(claimed.run_id, now=clock(), result=result)
    fields = {"job": name, "slot": slot, "attempt": claimed.attempts, **result}
    logger.info("job done", extra={"fields": fields})
    return result


@dataclass(frozen=True, slots=True)
class JobStats:
    name: str
    runs: dict[str, int]
    retries: int
    last_duration_seconds: float | None


async def job_stats() -> list[JobStats]:
    """Runs by status, retries and the last run's duration, per job (for /metrics)."""
    rows = (
        await JobRun.all()
        .order_by("id")
        .values("name", "status", "attempts", "started_at", "finished_at")
    )
    stats: dict[str, tuple[dict[str, int], int, float | None]] = {}
    for row in rows:
        runs, retries, last = stats.get(row["name"], ({}, 0, None))
        status = str(getattr(row["status"], "value", row["status"]))
        runs[status] = runs.get(status, 0) + 1
        retries += row["attempts"] - 1
        if row["finished_at"] is not None:
            last = (row["finished_at"] - row["started_at"]).total_seconds()
        stats[row["name"]] = (runs, retries, last)
    return [JobStats(name, *values) for name, values in sorted(stats.items())]
