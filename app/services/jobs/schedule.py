"""The schedule of background jobs, shared by the arq worker and the embedded runner.

A job is due in a *slot*: minutely jobs every minute (the slot is the local minute),
daily jobs from their local time on each day (the slot is the local date). A daily job
missed while nothing ran (a deploy, an outage) still runs later that day. Whoever fires a
job, `app.services.jobs.runs.run_slot` makes its slot run once.
"""

from __future__ import annotations

import logging
import time as monotonic
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.config import Settings
from app.services.benefits.birthdays import grant_birthday_gifts
from app.services.jobs import runs as jobs
from app.services.members.exports import build_exports
from app.services.notifications.inbox import clean_up_notifications
from app.services.points.expiry import expire_points
from app.services.points.ledger import balance_mismatches
from app.services.points.pending import release_pending_points
from app.services.points.rollup import fold_points_flow
from app.services.seasons.switch import switch_seasons
from app.services.tiers.evaluation import EvaluationPolicy, evaluate_tiers
from app.services.tiers.switch import switch_members_to_ladder_in_force
from app.services.webhooks.sending import send_webhooks

logger = logging.getLogger("laurel.schedule")

Heartbeat = Callable[[], Awaitable[None]]
JobFunction = Callable[[Settings, datetime, Heartbeat], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    name: str
    run: JobFunction
    # None: every minute; otherwise once a day, from this local time on.
    daily_at: time | None = None
    description: str = ""
    # The setting that moves daily_at, when one does (e.g. LAUREL_EVALUATION_TIME).
    daily_at_setting: Callable[[Settings], time] | None = None

    def runs_daily_at(self, settings: Settings) -> time | None:
        if self.daily_at_setting is not None:
            return self.daily_at_setting(settings)
        return self.daily_at

    def slot(self, now: datetime, zone: ZoneInfo, *, daily_at: time | None = None) -> str | None:
        """The slot due at ``now`` (None: not due yet today)."""
        local = now.astimezone(zone)
        daily_at = daily_at or self.daily_at
        if daily_at is None:
            return local.strftime("%Y-%m-%dT%H:%M")
        if local.time() < daily_at:
            return None
        return local.date().isoformat()


async def _ledger_integrity(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    mismatches = await balance_mismatches(limit=100)
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
    return {"mismatches": len(mismatches), "members": [m.member_id for m in mismatches]}


async def _notification_cleanup(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    removed = await clean_up_notifications(
        now=now, keep_days=settings.notification_retention_days, heartbeat=heartbeat
    )
    pruned = await jobs.prune_job_runs(
        now=now, keep_days=settings.job_run_retention_days, heartbeat=heartbeat
    )
    return {"removed": removed, "job_runs_pruned": pruned}


async def _ladder_switch(settings: Settings, now: datetime, heartbeat: Heartbeat) -> dict[str, Any]:
    return await switch_members_to_ladder_in_force(now=now, heartbeat=heartbeat)


async def _birthday_gifts(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    return await grant_birthday_gifts(
        now=now, zone=settings.zone, valid_days=settings.birthday_gift_days, heartbeat=heartbeat
    )


async def _point_expiry(settings: Settings, now: datetime, heartbeat: Heartbeat) -> dict[str, Any]:
    return await expire_points(
        now=now,
        zone=settings.zone,
        after_days=settings.points_expire_after_days,
        heartbeat=heartbeat,
    )


async def _pending_points_release(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    return await release_pending_points(now=now, heartbeat=heartbeat)


async def _season_boundaries(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    switched = await switch_seasons(now=now, heartbeat=heartbeat)
    return switched.as_result()


async def _points_rollup(settings: Settings, now: datetime, heartbeat: Heartbeat) -> dict[str, Any]:
    return await fold_points_flow(now=now, heartbeat=heartbeat)


async def _webhook_deliveries(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    return await send_webhooks(settings=settings, now=now)


async def _member_exports(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    started = monotonic.monotonic()

    def clock() -> datetime:
        # The slot's time moved on by the time spent: each export's run beats as it goes.
        return now + timedelta(seconds=monotonic.monotonic() - started)

    return await build_exports(clock=clock, heartbeat=heartbeat)


def evaluation_policy(settings: Settings) -> EvaluationPolicy:
    return EvaluationPolicy(
        zone=settings.zone,
        day_of_month=settings.evaluation_day_of_month,
        warning_days=settings.evaluation_warning_days,
        grace_days=settings.evaluation_grace_days,
        demoted_benefits_keep_days=settings.demoted_benefits_keep_days,
    )


async def _tier_evaluation(
    settings: Settings, now: datetime, heartbeat: Heartbeat
) -> dict[str, Any]:
    return await evaluate_tiers(policy=evaluation_policy(settings), now=now, heartbeat=heartbeat)


SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        "point_expiry",
        _point_expiry,
        daily_at=time(1, 0),
        description="expire points credited more than LAUREL_POINTS_EXPIRE_AFTER_DAYS ago "
        "(first in, first out)",
    ),
    ScheduledJob(
        "pending_points_release",
        _pending_points_release,
        description="credit pending points whose return window has closed",
    ),
    ScheduledJob(
        "birthday_gifts",
        _birthday_gifts,
        daily_at=time(0, 5),
        description="grant today's birthday members their tier's birthday gifts",
    ),
    ScheduledJob(
        "ladder_switch",
        _ladder_switch,
        description="move members to the tiers of the ladder version in force",
    ),
    ScheduledJob(
        "season_boundaries",
        _season_boundaries,
        description="grant running seasons' benefits to eligible members; expire ended ones",
    ),
    ScheduledJob(
        "ledger_integrity",
        _ledger_integrity,
        daily_at=time(3, 17),
        description="compare every balance with its ledger; log differences",
    ),
    ScheduledJob(
        "notification_cleanup",
        _notification_cleanup,
        daily_at=time(4, 5),
        description="delete read notifications and relayed outbox rows past their retention; "
        "fold old finished job runs into tallies",
    ),
    ScheduledJob(
        "tier_evaluation",
        _tier_evaluation,
        daily_at=time(0, 30),
        description="warn members below retention; demote them one tier at the evaluation",
        daily_at_setting=lambda settings: settings.evaluation_time,
    ),
    ScheduledJob(
        "points_rollup",
        _points_rollup,
        description="fold the ledger's settled quarter hours into the points flow rollup "
        "(and the last 24 h again, for rows committed late)",
    ),
    ScheduledJob(
        "webhook_deliveries",
        _webhook_deliveries,
        description="send due webhook deliveries (arq workers also send them every 5 s: "
        "workers/webhooks.py)",
    ),
    ScheduledJob(
        "member_exports",
        _member_exports,
        description="build the member exports admins asked for (exportMember); delete "
        "those past their 7 days",
    ),
)
JOBS = {job.name: job for job in SCHEDULE}


async def run_job(
    job: ScheduledJob,
    *,
    settings: Settings,
    clock: Callable[[], datetime],
    slot: str | None = None,
    on_batch: Callable[[], None] | None = None,
) -> dict[str, Any] | None:
    """Run the job's due slot (or the slot named) once across workers; its result, or None
    when it was not due, already done, or running elsewhere. ``on_batch`` hears each
    batch the job finishes (the CLI's progress line)."""
    now = clock()
    slot = slot or job.slot(now, settings.zone, daily_at=job.runs_daily_at(settings))
    if slot is None:
        return None

    async def work(heartbeat: Heartbeat) -> dict[str, Any]:
        async def beat() -> None:
            await heartbeat()
            if on_batch is not None:
                on_batch()

        return await job.run(settings, now, beat)

    return await jobs.run_slot(name=job.name, slot=slot, work=work, now=now, clock=clock)
