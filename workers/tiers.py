"""arq jobs of the tiers domain. Each is idempotent: arq may run a job more than once after
a crash."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.services.jobs.schedule import evaluation_policy
from app.services.tiers.evaluation import BATCH_SIZE, apply_evaluation


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
