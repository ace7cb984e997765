"""Recorded events reach the Redis boards through the outbox relay, across period ends and
Redis outages, and the boards then equal the SQL truth."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.models import Leaderboard
from app.services.leaderboards.boards import update_board
from app.services.leaderboards.index import BoardReads, IndexSink, NotIndexed, RedisBoardIndex
from app.services.leaderboards.sql import SqlBoardReader
from app.services.notifications.outbox import backlog, relay_batch
from app.services.shared.audit import Actor
from gamification.leaderboards import Period, period_ends_at
from tests import factories
from tests.services.leaderboards.boards import board, everything, expected, view_of

pytestmark = pytest.mark.usefixtures("orm")


@pytest.fixture
async def index(redis_url: str) -> AsyncIterator[RedisBoardIndex]:
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield RedisBoardIndex(redis, prefix=prefix, zone=factories.ZONE)
    keys = [k async for k in redis.scan_iter(match=prefix + "*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def drain(index: RedisBoardIndex) -> None:
    while await relay_batch(sinks=[IndexSink(index)], now=factories.now()):
        pass


def last_local_monday_midnight() -> datetime:
    """A local Monday 00:00 in the programme's zone, at least an hour ago."""
    today = (factories.now() - timedelta(hours=1)).astimezone(factories.ZONE).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), tzinfo=factories.ZONE)


async def test_boards_roll_over_at_local_midnight_and_at_the_iso_week_start(index):
    midnight = last_local_monday_midnight()
    joined = midnight - timedelta(days=2)
    sunday, monday = (
        await factories.member(joined_at=joined),
        await factories.member(joined_at=joined),
    )
    await factories.event(sunday, "purchase", amount="100", at=midnight - timedelta(seconds=1))
    await factories.event(monday, "purchase", amount="50", at=midnight)
    day, week = await board(period=Period.DAY), await board(period=Period.WEEK)
    await drain(index)

    before, after = midnight - timedelta(seconds=1), midnight
    keys = {
        (day, before.strftime("day:%Y-%m-%d"), sunday.id),
        (day, after.strftime("day:%Y-%m-%d"), monday.id),
        (week, "week:{}-W{:02d}".format(*before.isocalendar()[:2]), sunday.id),
        (week, "week:{}-W{:02d}".format(*after.isocalendar()[:2]), monday.id),
    }
    assert len({key for _, key, _ in keys}) == 4
    for created, key, member_id in keys:
        view = view_of(created, key)
        assert [m for m, _ in await expected(view)] == [member_id], key
        assert [e.member_id for e in await everything(SqlBoardReader(), view)] == [member_id]
        ends_at = period_ends_at(key, zone=factories.ZONE)
        assert ends_at is not None
        if ends_at <= factories.now():
            # Over before the relay saw it: never built by an update, only by a rebuild.
            with pytest.raises(NotIndexed):
                await index.size(view)
            await index.rebuild(created, key)
        assert [e.member_id for e in await everything(index, view)] == [member_id], key


async def test_no_update_is_lost_while_redis_stops_answering(index, redis_url):
    members = [await factories.member() for _ in range(5)]
    created = await board()
    view = view_of(created)
    reads = BoardReads(sql=SqlBoardReader(), index=index, timeout=0.1, pause=0.2)
    for n, member in enumerate(members):
        await factories.event(member, "purchase", amount=str(10 + n))
    await drain(index)
    assert await index.size(view) == 5

    admin = Redis.from_url(redis_url)
    try:
        await admin.execute_command("CLIENT", "PAUSE", 2000, "ALL")
        # Redis holds every command now: events keep committing; the relay fails and
        # leaves its batch in the outbox; reads answer from SQL within their timeout.
        for n, member in enumerate(members):
            await factories.event(member, "purchase", amount=str(100 * (5 - n)))
        with pytest.raises((RedisError, OSError, TimeoutError)):
            await relay_batch(sinks=[IndexSink(index)], now=factories.now())
        assert await backlog() == 5
        page = await reads.page(view, offset=0, limit=10)
        assert [(e.member_id, e.score) for e in page] == await expected(view)
        await factories.event(members[-1], "purchase", amount="1000")
    finally:
        await asyncio.sleep(2.1)  # the pause ends
        await admin.aclose()

    await drain(index)

    assert await backlog() == 0
    want = await expected(view)
    assert want[0][0] == members[-1].id
    assert [(e.member_id, e.score) for e in await everything(index, view)] == want
    for member in members:
        assert await index.standing(view, member.id) == await SqlBoardReader().standing(
            view, member.id
        )


def test_period_ends_are_local_midnights():
    zone = factories.ZONE
    assert period_ends_at("day:2026-11-25", zone=zone) == datetime(2026, 11, 26, tzinfo=zone)
    assert period_ends_at("week:2026-W48", zone=zone) == datetime(2026, 11, 30, tzinfo=zone)
    assert period_ends_at("month:2026-12", zone=zone) == datetime(2027, 1, 1, tzinfo=zone)
    assert period_ends_at("lifetime", zone=zone) is None
    with pytest.raises(ValueError):
        period_ends_at("fortnight:1", zone=zone)


async def test_a_board_whose_filter_changes_is_read_afresh(index):
    plain = await factories.member(display_name="Plain")
    await factories.event(plain, "purchase", amount="100")
    silver_only = await board()
    await drain(index)
    view = view_of(silver_only, "lifetime")
    assert [e.member_id for e in await index.page(view, offset=0, limit=10)] == [plain.id]
    before = await index.version(view)

    await update_board(
        board_id=silver_only.id,
        changes={"tier_code": "silver"},
        actor=Actor(subject="test", role="marketer"),
        now=factories.now(),
    )
    await drain(index)

    # The old set is gone (reads fall back to the truth) and cached pages are stale.
    with pytest.raises(NotIndexed):
        await index.page(view, offset=0, limit=10)
    assert await index.version(view) > before
    narrowed = view_of(await Leaderboard.get(id=silver_only.id), "lifetime")
    assert await SqlBoardReader().page(narrowed, offset=0, limit=10) == []
