"""The outbox relay: hands what committed transactions wrote to ``outbox`` to its consumers.

Services write an outbox row in the same transaction as the change it reports, so a row
exists exactly when the change committed. The relay reads unprocessed rows in id order,
passes each batch to every sink (subscription pushes now, leaderboard indexes next) and
marks the batch processed in the same transaction. A sink that raises rolls the batch
back: nothing is marked, and the next pass hands the same rows over again. Delivery is
therefore at least once; sinks are idempotent or, for pushes, carry the row id so that a
client can drop a repeat.

One relay works at a time: on PostgreSQL a transaction-scoped advisory lock lets a second
API node or worker skip the pass instead of delivering the same rows out of order; SQLite
serialises writers anyway. Rows committed late with a lower id are not skipped: a pass
takes every row still unprocessed, not the rows after a cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from app.models import OutboxMessage

logger = logging.getLogger("laurel.outbox")

# pg_advisory_xact_lock key of the relay ("laurel outbox" folded into a bigint).
RELAY_LOCK_KEY = 0x4C4F_5554_424F_58
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime


class OutboxSink(Protocol):
    """A consumer of committed changes. Raising leaves the batch for the next pass."""

    async def __call__(self, entries: Sequence[OutboxEntry]) -> None: ...


async def relay_batch(
    *, sinks: Sequence[OutboxSink], now: datetime, limit: int = BATCH_SIZE
) -> int:
    """Deliver up to ``limit`` unprocessed rows to every sink; return how many were relayed
    (0 as well when another relay holds the lock)."""
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            rows = await conn.execute_query_dict(
                "SELECT pg_try_advisory_xact_lock($1) AS locked", [RELAY_LOCK_KEY]
            )
            if not rows[0]["locked"]:
                return 0
        messages = (
            await OutboxMessage.filter(processed_at__isnull=True)
            .using_db(conn)
            .order_by("id")
            .limit(limit)
        )
        if not messages:
            return 0
        entries = [
            OutboxEntry(id=m.id, topic=m.topic, payload=m.payload, created_at=m.created_at)
            for m in messages
        ]
        for sink in sinks:
            await sink(entries)
        await (
            OutboxMessage.filter(id__in=[e.id for e in entries])
            .using_db(conn)
            .update(processed_at=now)
        )
    return len(entries)


async def backlog() -> int:
    """How many committed rows wait for the relay (the outbox lag, in rows)."""
    return await OutboxMessage.filter(processed_at__isnull=True).count()


async def oldest_waiting(now: datetime) -> float:
    """Seconds the oldest unrelayed row has waited (0 when none waits)."""
    # Tortoise types flat values_list results as tuples.
    oldest: datetime | None = await (  # type: ignore[assignment]
        OutboxMessage.filter(processed_at__isnull=True)
        .order_by("id")
        .first()
        .values_list("created_at", flat=True)
    )
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


# Processes learn of new rows through these callbacks (the relay registers one) so that a
# push leaves within milliseconds of its commit instead of at the next poll.
_written_listeners: set[Callable[[], None]] = set()


def on_outbox_written(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` after every commit that wrote outbox rows in this process; returns
    the function that unregisters it."""
    _written_listeners.add(listener)
    return lambda: _written_listeners.discard(listener)


def outbox_written() -> None:
    """Say that a transaction which wrote outbox rows has committed (call after commit)."""
    for listener in list(_written_listeners):
        listener()
