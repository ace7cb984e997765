"""arq jobs. Each is idempotent: arq may run a job more than once after a crash."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from app.models import Season
from app.schedule import SCHEDULE, ScheduledJob, evaluation_policy, run_job
from app.services.evaluation import BATCH_SIZE, apply_evaluation
from app.services.points import balance_mismatches
from app.services.season_switch import BATCH, grant_season

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
