"""Writing and reading the audit log. Every marketer and admin change goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from app.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    role: str


def snapshot(row: Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """The audited fields of a row as JSON-safe values."""
    return {name: _plain(getattr(row, name)) for name in fields}


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


async def record(
    conn: BaseDBAsyncClient,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> AuditEntry:
    """Write an audit row in the caller's transaction: the change and its record commit
    together or not at all."""
    return await AuditEntry.create(
        actor=actor.subject,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        at=now,
        using_db=conn,
    )


async def audit_page(
    *,
    first: int,
    before_id: int | None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> tuple[list[AuditEntry], bool]:
    """Audit rows, newest first, optionally filtered; the flag says whether more follow."""
    query = AuditEntry.all().order_by("-id")
    if action:
        query = query.filter(action=action)
    if target_type:
        query = query.filter(target_type=target_type)
    if target_id:
        query = query.filter(target_id=target_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first
