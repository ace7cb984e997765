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
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from app.db import connection, sql
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
    """Runs by status, retries and the last run's duration, per job (for /metrics): grouped
    in SQL over the kept runs, plus the tallies of pruned ones."""
    conn = connection()
    counted = await conn.execute_query_dict(
        "SELECT name, status, COUNT(*) AS runs, SUM(attempts - 1) AS retries "
        "FROM job_run GROUP BY name, status "
        "UNION ALL SELECT name, status, runs, retries FROM job_tally"
    )
    last = await conn.execute_query_dict(
        "SELECT name, started_at, finished_at FROM job_run WHERE id IN ("
        "SELECT MAX(id) FROM job_run WHERE finished_at IS NOT NULL GROUP BY name)"
    )
    runs: dict[str, dict[str, int]] = {}
    retries: dict[str, int] = {}
    for row in counted:
        by_status = runs.setdefault(row["name"], {})
        by_status[row["status"]] = by_status.get(row["status"], 0) + int(row["runs"])
        retries[row["name"]] = retries.get(row["name"], 0) + int(row["retries"] or 0)
    durations = {
        row["name"]: (_aware(row["finished_at"]) - _aware(row["started_at"])).total_seconds()
        for row in last
    }
    return [JobStats(name, runs[name], retries[name], durations.get(name)) for name in sorted(runs)]


def _aware(value: datetime | str) -> datetime:
    """A timestamp from a raw row: asyncpg gives datetimes, SQLite gives ISO strings."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


PRUNE_BATCH = 10_000


async def prune_job_runs(
    *, now: datetime, keep_days: int, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> int:
    """Fold runs that finished or last failed more than ``keep_days`` ago into
    ``job_tally`` and delete them, in batches, each batch in one transaction (so a rerun
    never counts a run twice). Running runs are kept whatever their age; a failed slot that
    old is never fired again. Returns how many runs went."""
    cutoff = now - timedelta(days=keep_days)
    pruned = 0
    while True:
        async with in_transaction() as conn:
            ids = (
                await JobRun.filter(
                    Q(status=JobRunStatus.DONE, finished_at__lt=cutoff)
                    | Q(status=JobRunStatus.FAILED, heartbeat_at__lt=cutoff)
                )
                .order_by("id")
                .limit(PRUNE_BATCH)
                .using_db(conn)
                .values_list("id", flat=True)
            )
            if not ids:
                break
            marks = ", ".join("?" for _ in ids)
            await conn.execute_query(
                sql(
                    conn,
                    "INSERT INTO job_tally (name, status, runs, retries) "
                    "SELECT name, status, COUNT(*), SUM(attempts - 1) FROM job_run "
                    f"WHERE id IN ({marks}) GROUP BY name, status "
                    "ON CONFLICT (name, status) DO UPDATE SET "
                    "runs = job_tally.runs + excluded.runs, "
                    "retries = job_tally.retries + excluded.retries",
                ),
                list(ids),
            )
            pruned += await JobRun.filter(id__in=ids).using_db(conn).delete()
        if heartbeat is not None:
            await heartbeat()
    return pruned
