"""The outbox relay loop: runs :func:`app.services.notifications.outbox.relay_batch` until stopped.

It wakes when this process commits outbox rows (so a push leaves within milliseconds) and
otherwise polls, which picks up rows other processes committed. Failures are logged and
retried with a growing pause; the rows stay in the outbox meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from app.clock import Clock, system_clock
from app.services.leaderboards.index import IndexSink, RedisBoardIndex
from app.services.notifications.outbox import BATCH_SIZE, OutboxSink, on_outbox_written, relay_batch
from app.services.notifications.updates import PushSink, UpdateBroker
from app.services.webhooks.events import WebhookSink

logger = logging.getLogger("laurel.relay")
MAX_BACKOFF_SECONDS = 30.0


class OutboxRelay:
    def __init__(self, *, sinks: Sequence[OutboxSink], poll_seconds: float) -> None:
        self.sinks = list(sinks)
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unregister = on_outbox_written(self._wake.set)
        self.relayed = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._unregister()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self.poll_seconds
        while True:
            self._wake.clear()
            try:
                count = await relay_batch(sinks=self.sinks, now=datetime.now(UTC))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("outbox relay failed; the rows stay queued", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self.poll_seconds
            self.relayed += count
            if count == BATCH_SIZE:
                continue  # more are waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)


def relay_sinks(
    *,
    index: RedisBoardIndex | None,
    broker: UpdateBroker,
    local: OutboxSink | None = None,
    clock: Clock = system_clock,
) -> list[OutboxSink]:
    """The relay's sinks in order: the leaderboard index first (a push may tell a member of
    a rank the board then shows), or without Redis the local board versions; then pushes;
    then the webhook deliveries, written in the relay's transaction."""
    first: OutboxSink | None = IndexSink(index) if index is not None else local
    return [*([first] if first is not None else []), PushSink(broker), WebhookSink(clock)]
