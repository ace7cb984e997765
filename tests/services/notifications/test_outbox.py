"""The outbox relay: every committed row reaches every sink, at least once, in id order."""

from __future__ import annotations

import asyncio

import pytest

from app import db
from app.models import OutboxMessage
from app.services.notifications.outbox import RELAY_LOCK_KEY, OutboxEntry, backlog, relay_batch
from app.services.notifications.relay import OutboxRelay
from app.services.notifications.updates import LocalBroker, PushSink, UpdateKind, updates_of
from tests import factories


class Collecting:
    def __init__(self, *, failures: int = 0) -> None:
        self.seen: list[int] = []
        self.failures = failures

    async def __call__(self, entries):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the index is away")
        self.seen += [e.id for e in entries]


async def rows(n: int, *, topic: str = "event.recorded") -> list[int]:
    created = [
        await OutboxMessage.create(
            topic=topic, payload={"member_id": 1, "points": i + 1}, created_at=factories.now()
        )
        for i in range(n)
    ]
    return [m.id for m in created]


async def test_a_pass_hands_every_waiting_row_to_every_sink_once(orm):
    ids = await rows(3)
    first, second = Collecting(), Collecting()

    assert await relay_batch(sinks=[first, second], now=factories.now()) == 3
    assert first.seen == second.seen == ids
    assert await relay_batch(sinks=[first, second], now=factories.now()) == 0
    assert first.seen == ids
    assert await backlog() == 0


async def test_a_failing_sink_leaves_the_batch_for_the_next_pass(orm):
    ids = await rows(2)
    flaky = Collecting(failures=1)

    with pytest.raises(ConnectionError):
        await relay_batch(sinks=[flaky], now=factories.now())
    assert await backlog() == 2

    assert await relay_batch(sinks=[flaky], now=factories.now()) == 2
    assert flaky.seen == ids


async def test_a_pass_takes_at_most_its_limit_in_id_order(orm):
    ids = await rows(5)
    sink = Collecting()
    assert await relay_batch(sinks=[sink], now=factories.now(), limit=2) == 2
    assert await relay_batch(sinks=[sink], now=factories.now(), limit=2) == 2
    assert await relay_batch(sinks=[sink], now=factories.now(), limit=2) == 1
    assert sink.seen == ids


async def test_one_relay_at_a_time_on_postgresql(postgres_settings):
    import asyncpg

    async with db.connect(postgres_settings):
        await rows(1)
        sink = Collecting()
        other = await asyncpg.connect(postgres_settings.database_url)
        try:
            async with other.transaction():
                # Another relay (another node's session) is at work: this pass stands aside.
                await other.execute("SELECT pg_advisory_xact_lock($1)", RELAY_LOCK_KEY)
                assert await relay_batch(sinks=[sink], now=factories.now()) == 0
        finally:
            await other.close()
        assert sink.seen == []
        assert await relay_batch(sinks=[sink], now=factories.now()) == 1


async def test_the_relay_finds_rows_other_processes_committed_by_polling(orm):
    sink = Collecting()
    relay = OutboxRelay(sinks=[sink], poll_seconds=0.05)
    relay.start()
    try:
        # Written without waking the relay, as another process's commit would be.
        ids = await rows(2)
        for _ in range(100):
            if sink.seen == ids:
                break
            await asyncio.sleep(0.02)
    finally:
        await relay.stop()
    assert sink.seen == ids


async def test_the_push_sink_publishes_each_rows_updates_to_its_member(orm):
    broker = LocalBroker()
    member = await factories.member()
    heard = []

    async def listen():
        async for update in broker.subscribe(member.id):
            heard.append(update)
            if len(heard) == 2:
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)  # subscribed
    await OutboxMessage.create(
        topic="points.adjusted",
        payload={"member_id": member.id, "delta": 5, "balance": 5, "reason": "x"},
        created_at=factories.now(),
    )
    await OutboxMessage.create(
        topic="points.adjusted",
        payload={"member_id": member.id + 1, "delta": 9, "balance": 9, "reason": "x"},
        created_at=factories.now(),
    )
    await OutboxMessage.create(
        topic="reward.redeemed",
        payload={"member_id": member.id, "points": 3, "balance": 2},
        created_at=factories.now(),
    )
    await relay_batch(sinks=[PushSink(broker)], now=factories.now())
    await asyncio.wait_for(listener, 5)
    assert [(u.kind, u.data["delta"], u.data["balance"]) for u in heard] == [
        (UpdateKind.POINTS_CHANGED, 5, 5),
        (UpdateKind.POINTS_CHANGED, -3, 2),
    ]


def test_rows_members_are_not_told_of_make_no_updates():
    at = factories.now()
    assert updates_of(OutboxEntry(1, "benefit.used", {"member_id": 1}, at)) == []
    assert updates_of(OutboxEntry(2, "something.else", {}, at)) == []
    nothing_gained = {"member_id": 4, "points": 0, "tierChange": None}
    assert updates_of(OutboxEntry(3, "event.recorded", nothing_gained, at)) == []
