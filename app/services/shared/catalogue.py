"""What every catalogue entry's use cases share (seasons, tasks, badges, event types,
rewards, benefits, boards, seasonal benefits): created under a unique key, archived for
good, each in one transaction with its audit entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found

M = TypeVar("M", bound=Model)


async def create_entry(
    model: type[M],
    values: Mapping[str, Any],
    action: str,
    fields: tuple[str, ...],
    *,
    actor: Actor,
    now: datetime,
    taken: InvalidInput,
) -> M:
    """Create a row of ``model`` from checked ``values``, audited as ``action`` with its
    ``fields``; ``taken`` when a unique key of it (its code) is already used."""
    try:
        async with (
            in_transaction() as conn,
            audited(conn, actor=actor, action=action, fields=fields, now=now) as change,
        ):
            return change.created(await model.create(**values, using_db=conn))
    except IntegrityError:
        raise taken from None


async def archive_entry(
    model: type[M],
    key: int,
    action: str,
    fields: tuple[str, ...],
    *,
    actor: Actor,
    now: datetime,
    stamp: tuple[str, ...] = ("archived_at",),
    also: Callable[[BaseDBAsyncClient, M], Awaitable[object]] | None = None,
) -> M:
    """Archive a row for good, audited as ``action`` with its ``fields``; archiving it again
    changes nothing. ``stamp`` names
    the time fields set to ``now``; ``also`` archives what goes with it, in the same
    transaction."""
    async with in_transaction() as conn:
        row = await get_locked_or_not_found(model, key, conn=conn)
        if getattr(row, "archived_at", None) is not None:
            return row
        async with audited(conn, actor=actor, action=action, subject=row, fields=fields, now=now):
            for name in stamp:
                setattr(row, name, now)
            await row.save(using_db=conn, update_fields=list(stamp))
            if also is not None:
                await also(conn, row)
    return row
