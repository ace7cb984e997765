"""A row named by its key, or ``NotFound``: read, or locked for the transaction that changes it."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from app.services.shared.errors import NotFound

M = TypeVar("M", bound=Model)


async def get_or_not_found(
    model: type[M], key: object, *, conn: BaseDBAsyncClient | None = None, **where: Any
) -> M:
    """The row of ``model`` whose id is ``key`` (or that matches ``where``, a unique key
    such as a code); ``NotFound`` with the model's name and ``key`` when there is none."""
    row = await model.get_or_none(**(where or {"id": key}), using_db=conn)
    if row is None:
        raise NotFound(model.__name__, key)
    return row


async def get_locked_or_not_found(
    model: type[M], key: object, *, conn: BaseDBAsyncClient, **where: Any
) -> M:
    """The same row, locked for update in ``conn``'s transaction, so that what the change
    reads stays true until it commits. (SQLite has no row locks: there, one writer at a time
    does that.)"""
    query = model.filter(**(where or {"id": key})).select_for_update().using_db(conn)
    row = await query.first()
    if row is None:
        raise NotFound(model.__name__, key)
    return row
