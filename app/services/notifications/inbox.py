"""A member's inbox: its pages, marking notifications read, and housekeeping (read
notifications are kept for a while, then deleted)."""

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


async def notifications_page(
    *, member_id: int, first: int, before_id: int | None, unread_only: bool
) -> tuple[list[Notification], bool]:
    query = Notification.filter(member_id=member_id).order_by("-id")
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


async def mark_read(*, member_id: int, ids: list[int] | None, now: datetime) -> int:
    """Mark a member's unread notifications read (the given ids, or all): one UPDATE.

    Ids of other members' notifications match nothing, so they are silently left alone.
    """
    query = Notification.filter(member_id=member_id, read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=ids)
    return await query.update(read_at=now)
