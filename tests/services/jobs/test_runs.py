"""Scheduled jobs run each slot once, across workers and crashes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from app.models import JobRun, JobRunStatus, Notification, OutboxMessage
from app.services.jobs.embedded_runner import EmbeddedScheduler
from app.services.jobs.runs import claim, job_stats, prune_job_runs, run_slot
from app.services.jobs.schedule import JOBS, ScheduledJob, run_job
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def counting_job(calls: list[str], *, daily_at: time | None = None) -> ScheduledJob:
    async def run(settings, now, heartbeat):
        calls.append(now.isoformat())
        await heartbeat()
        return {"ran": len(calls)}

    return ScheduledJob("counting", run, daily_at=daily_at)


async def test_a_slot_runs_once_however_often_it_is_fired(settings):
    calls: list[str] = []
    job = counting_job(calls, daily_at=time(3, 0))
    first = await run_job(job, settings=settings, clock=lambda: NOW)
    again = await run_job(job, settings=settings, clock=lambda: NOW + timedelta(minutes=1))
    assert first == {"ran": 1} and again is None and len(calls) == 1
    run = await JobRun.get(name="counting")
    assert (run.slot, run.status, run.result) == ("2026-11-25", JobRunStatus.DONE, {"ran": 1})
    # The next local day is a new slot.
    assert await run_job(job, settings=settings, clock=lambda: NOW + timedelta(days=1)) == {
        "ran": 2
    }


async def test_a_daily_job_is_not_due_before_its_local_time_and_runs_late_after(settings):
    calls: list[str] = []
    job = counting_job(calls, daily_at=time(11, 30))  # local; NOW is 10:00 local
    assert await run_job(job, settings=settings, clock=lambda: NOW) is None
    late = NOW + timedelta(hours=5)  # the worker was down at 11:30
    assert await run_job(job, settings=settings, clock=lambda: late) == {"ran": 1}


async def test_two_workers_firing_the_same_slot_run_it_once(settings):
    calls: list[str] = []
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(settings, now, heartbeat):
        calls.append("run")
        started.set()
        await release.wait()
        return {}

    job = ScheduledJob("slow", slow)
    first = asyncio.create_task(run_job(job, settings=settings, clock=lambda: NOW))
    await started.wait()
    second = await run_job(job, settings=settings, clock=lambda: NOW)
    release.set()
    assert await first == {} and second is None and calls == ["run"]


async def test_a_run_whose_worker_died_is_taken_over_after_its_lease():
    assert await claim(name="grant", slot="s1", now=NOW, lease=timedelta(minutes=5))
    # The first worker was killed: no heartbeat since. Within the lease nobody takes it.
    assert (
        await claim(
            name="grant", slot="s1", now=NOW + timedelta(minutes=4), lease=timedelta(minutes=5)
        )
        is None
    )
    taken = await claim(
        name="grant", slot="s1", now=NOW + timedelta(minutes=6), lease=timedelta(minutes=5)
    )
    assert taken is not None and taken.attempts == 2


async def test_a_failed_run_is_retried_at_the_next_fire_and_records_its_error():
    async def broken(heartbeat):
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        await run_slot(name="flaky", slot="s", work=broken, now=NOW, clock=lambda: NOW)
    run = await JobRun.get(name="flaky")
    assert run.status is JobRunStatus.FAILED and "database went away" in run.error

    async def fine(heartbeat):
        return {"ok": 1}

    assert await run_slot(name="flaky", slot="s", work=fine, now=NOW, clock=lambda: NOW) == {
        "ok": 1
    }
    run = await JobRun.get(name="flaky")
    assert (run.status, run.attempts, run.error) == (JobRunStatus.DONE, 2, "")


async def test_the_embedded_scheduler_runs_due_jobs_and_survives_a_failing_one(settings):
    calls: list[str] = []

    async def broken(settings, now, heartbeat):
        raise RuntimeError("boom")

    scheduler = EmbeddedScheduler(
        settings,
        jobs=(ScheduledJob("broken", broken), counting_job(calls)),
        clock=lambda: NOW,
    )
    await scheduler.tick()
    await scheduler.tick()  # the same minute: the counting job's slot is done
    assert calls == [NOW.isoformat()]
    assert await JobRun.get(name="broken").values_list("status", flat=True) == "failed"


async def test_notification_cleanup_deletes_only_old_read_notifications(settings):
    member = await factories.member()
    old, recent = NOW - timedelta(days=120), NOW - timedelta(days=10)
    for read_at in (old, recent, None):
        await Notification.create(
            member=member, kind="x", title="t", body="b", created_at=old, read_at=read_at
        )
    await OutboxMessage.create(topic="x", payload={}, created_at=old, processed_at=old)
    await OutboxMessage.create(topic="x", payload={}, created_at=old)  # not relayed yet

    result = await run_job(
        JOBS["notification_cleanup"], settings=settings, clock=lambda: NOW + timedelta(hours=3)
    )
    assert result == {"removed": 1, "job_runs_pruned": 0}
    assert sorted(
        str(r) for r in await Notification.filter(member=member).values_list("read_at", flat=True)
    ) == sorted([str(recent), "None"])
    assert await OutboxMessage.filter(topic="x", processed_at__isnull=True).count() == 1
    assert await OutboxMessage.filter(topic="x").count() == 1


async def test_old_finished_runs_are_pruned_but_still_counted():
    async def fine(heartbeat):
        return {}

    async def broken(heartbeat):
        raise RuntimeError("no")

    old = NOW - timedelta(days=30)
    for minute in range(3):
        await run_slot(name="tick", slot=f"old-{minute}", work=fine, now=old, clock=lambda: old)
    with pytest.raises(RuntimeError):
        await run_slot(name="tick", slot="old-failed", work=broken, now=old, clock=lambda: old)
    await run_slot(name="tick", slot="old-failed", work=fine, now=old, clock=lambda: old)
    with pytest.raises(RuntimeError):
        await run_slot(name="tick", slot="gave-up", work=broken, now=old, clock=lambda: old)
    await claim(name="tick", slot="still-running", now=old, lease=timedelta(minutes=5))
    await run_slot(name="tick", slot="recent", work=fine, now=NOW, clock=lambda: NOW)
    before = await job_stats()
    assert [(s.name, s.runs, s.retries) for s in before] == [
        ("tick", {"done": 5, "failed": 1, "running": 1}, 1)
    ]

    # Five runs ended over a week ago; the running one and the recent one stay.
    assert await prune_job_runs(now=NOW, keep_days=7) == 5
    assert sorted(await JobRun.all().values_list("slot", flat=True)) == ["recent", "still-running"]
    after = await job_stats()
    assert [(s.name, s.runs, s.retries) for s in after] == [
        (s.name, s.runs, s.retries) for s in before
    ]
    assert after[0].last_duration_seconds == 0.0
    # A rerun finds nothing to fold and counts nothing twice.
    assert await prune_job_runs(now=NOW, keep_days=7) == 0
    assert [(s.runs, s.retries) for s in await job_stats()] == [(s.runs, s.retries) for s in before]
