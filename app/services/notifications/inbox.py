"""Notification housekeeping: read notifications are kept for a while, then deleted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.models import Notification, OutboxMessage

BATCH = 10_000


async def clean_up_notifications(
    *, now: datetime, keep_days: int, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> int:
    """Delete notifications read more than ``keep_days`` ago, and relayed outbox rows as
    old, in batches (never one statement holding a huge lock); unread ones are kept
    whatever their age. Returns how many notifications went. Idempotent."""
    cutoff = now - timedelta(days=keep_days)
    removed = 0
    while True:
        ids = (
            await Notification.filter(read_at__lt=cutoff).limit(BATCH).values_list("id", flat=True)
        )
        if not ids:
            break
        removed += await Notification.filter(id__in=ids).delete()
        if heartbeat is not None:
            await heartbeat()
    while True:
        ids = (
            await OutboxMessage.filter(processed_at__lt=cutoff)
            .limit(BATCH)
            .values_list("id", flat=True)
        )
        if not ids:
            break
        await OutboxMessage.filter(id__in=ids).delete()
    return removed
