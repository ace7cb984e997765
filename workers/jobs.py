"""arq jobs. Each is idempotent: arq may run a job more than once after a crash."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.db import connection_name
from app.models import Season
from app.services.activity.events import EventPolicy
from app.services.activity.imports import ImportProgress, import_events, import_members
from app.services.jobs.runs import run_slot
from app.services.jobs.schedule import SCHEDULE, ScheduledJob, evaluation_policy, run_job
from app.services.points.ledger import balance_mismatches
from app.services.seasons.switch import BATCH, grant_season
from app.services.tiers.evaluation import BATCH_SIZE, apply_evaluation

logger = logging.getLogger("laurel.jobs")


async def check_ledger_integrity(ctx: dict[str, Any], *, limit: int = 100) -> dict[str, Any]:
    """Compare every member's balance with the sum of their ledger, in one set-based query.

    Read-only, so running it twice is harmless. Mismatches are logged as errors (they mean
    a bug or a manual database edit) and returned for whoever enqueued the check.
    """
    mismatches = await balance_mismatches(limit=limit)
    for m in mismatches:
        logger.error(
            "balance differs from ledger",
            extra={
                "fields": {
                    "member_id": m.member_id,
                    "balance": m.balance,
                    "ledger_sum": m.ledger_sum,
                }
            },
        )
    return {
        "mismatches": len(mismatches),
        "members": [m.member_id for m in mismatches],
    }


async def grant_season_benefits(
    ctx: dict[str, Any], *, season_id: int, batch_size: int = BATCH
) -> int:
    """Grant a running season's benefits to its eligible members now (what the minutely
    ``season_boundaries`` job does for every season), resuming where an earlier run
    stopped. Returns the grants made; 0 when the season is not running or all are held."""
    season = await Season.get_or_none(id=season_id)
    if season is None:
        return 0
    return await grant_season(season=season, now=datetime.now(UTC), batch_size=batch_size)


async def apply_tier_evaluation(
    ctx: dict[str, Any], *, evaluation: str, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """Apply (or finish) the evaluation of a date by hand, e.g. ``2026-12-01``. The
    scheduled ``tier_evaluation`` job does this on its own; this one re-runs a date after
    an outage. Demotes nobody twice: the date's evaluation resumes where it stopped."""
    demoted = await apply_evaluation(
        evaluated=date.fromisoformat(evaluation),
        policy=evaluation_policy(ctx["settings"]),
        now=datetime.now(UTC),
        batch_size=batch_size,
    )
    return {"evaluation": evaluation, "demoted": demoted}


# How often a long import tells other workers it is alive (its job_run lease is 5 minutes).
IMPORT_HEARTBEAT_SECONDS = 30.0


async def import_csv(
    ctx: dict[str, Any],
    *,
    kind: str,
    path: str,
    backfill_days: int | None = None,
    slot: str | None = None,
) -> dict[str, Any] | None:
    """Import a CSV file of members or events that an admin uploaded to ``path`` (a path
    this worker reads), as ``laurel import`` does; rejected rows go to
    ``PATH.rejected.csv`` and the first 100 of them into the result.

    The run is recorded in ``job_run`` as ``import_members`` / ``import_events`` under
    ``slot`` (default: the file's SHA-256), so arq running it twice imports a file once:
    a finished slot returns None; a run that died half way is taken over after its lease
    and resumes (rows recorded before are duplicates, credited once). Name another slot
    to import the same file again, e.g. after enrolling members its events were waiting
    for. A file that cannot be imported at all fails the run (``ImportRefused``).
    """
    if kind not in ("members", "events"):
        raise ValueError(f"kind must be members or events, not {kind!r}")
    settings = ctx["settings"]
    file = Path(path)
    clock = _utc_now

    async def work(heartbeat: Callable[[], Awaitable[None]]) -> dict[str, Any]:
        last_beat = time.monotonic()

        async def progress(_: ImportProgress) -> None:
            nonlocal last_beat
            if time.monotonic() - last_beat >= IMPORT_HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                await heartbeat()

        if kind == "members":
            report = await import_members(file, clock=clock, zone=settings.zone, progress=progress)
        else:
            days = settings.event_backfill_days if backfill_days is None else backfill_days
            report = await import_events(
                file,
                policy=EventPolicy(zone=settings.zone, backfill_window=timedelta(days=days)),
                clock=clock,
                in_flight=2 if connection_name(settings.database_url) == "postgres" else 1,
                progress=progress,
            )
        return report.as_result()

    return await run_slot(
        name=f"import_{kind}",
        slot=slot or _sha256(file),
        work=work,
        now=clock(),
        clock=clock,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
    except OSError:
        return "unreadable"  # the import itself says why, in the run's error
    return digest.hexdigest()[:64]


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
