"""The pending points release, run by a real arq worker against real Redis: once."""

from __future__ import annotations

from datetime import timedelta

from app import db
from app.models import EventType, Member
from app.services.points.ledger import balance_mismatches
from tests import clock, factories
from tests.workers.burst import run_in_burst


async def test_the_worker_releases_due_points_once(settings, redis_url):
    # Given a purchase three weeks ago whose 14-day window has closed (the worker reads
    # the wall clock: the event is dated from it, so the test means the same on any day)
    clock.current.set(clock.current.now() - timedelta(days=21))
    async with db.connect(settings):
        await EventType.filter(code="purchase").update(pending_days=14)
        member = await factories.member()
        await factories.event(member, "purchase", amount="80", key="order-1")

    # When the job runs for two slots (as two minutes would, or a retry by hand)
    results = await run_in_burst(
        settings,
        redis_url,
        ("pending_points_release", {"slot": "test-1"}),
        ("pending_points_release", {"slot": "test-2"}),
        max_jobs=1,
    )

    # Then the points are credited once
    # (in either order: two jobs enqueued in one millisecond may run either way)
    assert sorted(results, key=lambda r: r["released"]) == [
        {"released": 0, "points": 0},
        {"released": 1, "points": 80},
    ]
    async with db.connect(settings):
        assert (await Member.get(id=member.id)).points_balance == 80
        assert await balance_mismatches() == []
