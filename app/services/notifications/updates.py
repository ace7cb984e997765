"""What a member is told live: outbox rows turned into member updates, and their brokers.

An update is a small JSON-safe envelope (``kind`` plus data) so that it crosses Redis
pub/sub unchanged; the API layer turns it into the typed GraphQL union. Its id is the
outbox row id and the position in that row, so a client can drop a repeat (the relay
delivers at least once).

Two brokers carry updates from the relay to the sockets of the members they concern:
:class:`LocalBroker` within one process (embedded mode), :class:`RedisBroker` across API
nodes through one pub/sub channel per member, subscribed only while a socket of that
member is open on the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from app.config import Settings
from app.services.notifications.outbox import OutboxEntry

logger = logging.getLogger("laurel.updates")

# Updates a slow socket may fall behind by before it is cut off (it can reconnect and
# re-read its state); without a bound one stalled client would grow the process.
QUEUE_LIMIT = 256
CHANNELS = "member-updates:"


class UpdateKind(StrEnum):
    POINTS_CHANGED = "points_changed"
    TIER_CHANGED = "tier_changed"
    BADGE_EARNED = "badge_earned"
    TASK_COMPLETED = "task_completed"
    BENEFIT_GRANTED = "benefit_granted"


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    id: str
    member_id: int
    kind: UpdateKind
    at: datetime
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "at": self.at.isoformat()})

    @classmethod
    def from_json(cls, text: str | bytes) -> MemberUpdate:
        raw = json.loads(text)
        return cls(
            id=raw["id"],
            member_id=int(raw["member_id"]),
            kind=UpdateKind(raw["kind"]),
            at=datetime.fromisoformat(raw["at"]),
            data=raw["data"],
        )


def _changes(entry: OutboxEntry) -> Iterator[tuple[UpdateKind, dict[str, Any]]]:
    p = entry.payload
    if entry.topic == "event.recorded":
        # Points held in a return window move no balance: their release is the change.
        if p.get("points") and not p.get("pointsPending"):
            yield (
                UpdateKind.POINTS_CHANGED,
                {"delta": p["points"], "balance": p.get("balance"), "reason": "activity"},
            )
        for task in p.get("tasksCompleted") or []:
            yield UpdateKind.TASK_COMPLETED, dict(task)
        for badge in p.get("badgesEarned") or []:
            yield UpdateKind.BADGE_EARNED, dict(badge)
    elif entry.topic == "event.reversed":
        if p.get("points"):
            yield (
                UpdateKind.POINTS_CHANGED,
                {"delta": p["points"], "balance": p.get("balance"), "reason": "reversal"},
            )
    elif entry.topic == "reward.redeemed":
        yield (
            UpdateKind.POINTS_CHANGED,
            {"delta": -p["points"], "balance": p["balance"], "reason": "redemption"},
        )
    elif entry.topic == "points.adjusted":
        yield (
            UpdateKind.POINTS_CHANGED,
            {"delta": p["delta"], "balance": p["balance"], "reason": "adjustment"},
        )
    elif entry.topic == "points.released":
        yield (
            UpdateKind.POINTS_CHANGED,
            {"delta": p["points"], "balance": p["balance"], "reason": "activity"},
        )
    elif entry.topic == "points.expired":
        yield (
            UpdateKind.POINTS_CHANGED,
            {"delta": p["delta"], "balance": p["balance"], "reason": "expiry"},
        )
    elif entry.topic == "benefits.granted":
        for grant in p["grants"]:
            yield UpdateKind.BENEFIT_GRANTED, dict(grant)
    elif entry.topic == "member.merged" and p.get("points"):
        yield (
            UpdateKind.POINTS_CHANGED,
            {"delta": p["points"], "balance": p["balance"], "reason": "merge"},
        )
    # A promotion (event.recorded, or a merge of members) or a demotion (the evaluation's
    # leaderboard.member_changed rows) carries its tier change.
    tiers_move = {"event.recorded", "leaderboard.member_changed", "member.merged"}
    if entry.topic in tiers_move and p.get("tierChange"):
        change = p["tierChange"]
        yield UpdateKind.TIER_CHANGED, {"from": change["from"], "to": change["to"]}


def updates_of(entry: OutboxEntry) -> list[MemberUpdate]:
    """The updates an outbox row tells its member (none for topics members are not told)."""
    member_id = entry.payload.get("member_id")
    if member_id is None:
        return []
    return [
        MemberUpdate(
            id=f"{entry.id}.{n}",
            member_id=int(member_id),
            kind=kind,
            at=entry.created_at,
            data=data,
        )
        for n, (kind, data) in enumerate(_changes(entry), start=1)
    ]


class UpdateBroker(Protocol):
    async def publish(self, updates: Sequence[MemberUpdate]) -> None: ...

    def subscribe(self, member_id: int) -> AsyncIterator[MemberUpdate]: ...


class SlowConsumer(Exception):
    """A socket fell more than QUEUE_LIMIT updates behind and was cut off."""


class _Subscribers:
    """The queues of this process's open subscriptions, by member."""

    def __init__(self) -> None:
        self.queues: dict[int, set[asyncio.Queue[MemberUpdate | None]]] = {}

    def add(self, member_id: int) -> asyncio.Queue[MemberUpdate | None]:
        queue: asyncio.Queue[MemberUpdate | None] = asyncio.Queue(QUEUE_LIMIT)
        self.queues.setdefault(member_id, set()).add(queue)
        return queue

    def remove(self, member_id: int, queue: asyncio.Queue[MemberUpdate | None]) -> bool:
        """Forget a queue; True when it was the member's last one here."""
        queues = self.queues.get(member_id, set())
        queues.discard(queue)
        if queues:
            return False
        self.queues.pop(member_id, None)
        return True

    def deliver(self, update: MemberUpdate) -> None:
        for queue in list(self.queues.get(update.member_id, ())):
            try:
                queue.put_nowait(update)
            except asyncio.QueueFull:
                # Make room for the end marker; the reader raises SlowConsumer.
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    async def drain(self, queue: asyncio.Queue[MemberUpdate | None]) -> AsyncIterator[MemberUpdate]:
        while True:
            update = await queue.get()
            if update is None:
                raise SlowConsumer(f"fell more than {QUEUE_LIMIT} updates behind")
            yield update


class LocalBroker:
    """Fan-out inside one process: what the relay publishes reaches this process's sockets."""

    def __init__(self) -> None:
        self._subscribers = _Subscribers()

    async def publish(self, updates: Sequence[MemberUpdate]) -> None:
        for update in updates:
            self._subscribers.deliver(update)

    async def subscribe(self, member_id: int) -> AsyncIterator[MemberUpdate]:
        queue = self._subscribers.add(member_id)
        try:
            async for update in self._subscribers.drain(queue):
                yield update
        finally:
            self._subscribers.remove(member_id, queue)


class RedisBroker:
    """Fan-out across API nodes: PUBLISH to the member's channel; every node subscribes to
    the channels of the members with a socket open on it and hands on what arrives.

    It owns its Redis client (``close`` closes it): a subscribed connection waits for
    messages without end and must not carry a read timeout.
    """

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._channels = prefix + CHANNELS
        self._subscribers = _Subscribers()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changing = asyncio.Lock()

    async def publish(self, updates: Sequence[MemberUpdate]) -> None:
        if not updates:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for update in updates:
                pipe.publish(self._channels + str(update.member_id), update.to_json())
            await pipe.execute()

    async def subscribe(self, member_id: int) -> AsyncIterator[MemberUpdate]:
        channel = self._channels + str(member_id)
        async with self._changing:
            queue = self._subscribers.add(member_id)
            try:
                pubsub = await self._started()
                if len(self._subscribers.queues[member_id]) == 1:
                    await pubsub.subscribe(channel)
            except BaseException:
                self._subscribers.remove(member_id, queue)
                raise
        try:
            async for update in self._subscribers.drain(queue):
                yield update
        finally:
            async with self._changing:
                if self._subscribers.remove(member_id, queue) and self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(channel)

    async def _started(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            # A channel of its own keeps the connection subscribed (and listen() valid)
            # while no member is.
            await self._pubsub.subscribe(self._channels + "node")
            self._reader = asyncio.create_task(self._read(self._pubsub))
        return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        self._subscribers.deliver(MemberUpdate.from_json(message["data"]))
                    except (ValueError, KeyError, TypeError):
                        logger.warning("dropped a malformed member update from Redis")
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis went away: redis-py reconnects and re-subscribes on the next read.
                logger.warning("lost the Redis subscription; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                # redis-py leaves PubSub.aclose unannotated.
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        await self._redis.aclose()


class PushSink:
    """The relay's sink for live updates: publish the updates of a batch to the broker."""

    def __init__(self, broker: UpdateBroker) -> None:
        self.broker = broker

    async def __call__(self, entries: Sequence[OutboxEntry]) -> None:
        updates = [u for e in entries for u in updates_of(e)]
        await self.broker.publish(updates)


def redis_broker(settings: Settings, *, connect_timeout: float) -> RedisBroker:
    """A broker with a Redis client of its own: a subscribed connection waits for messages
    without end, so it carries no read timeout."""
    assert settings.redis_url is not None
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=connect_timeout)
    return RedisBroker(client, prefix=settings.redis_prefix)
