"""Writing and reading the audit log. Every marketer and admin change goes through ``audited``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from app.models import AuditEntry

M = TypeVar("M", bound=Model)


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


class AuditedChange:
    """One operator change as the audit log will record it: what it is about and the state
    before and after. By default the state is a snapshot of the changed row's ``fields``,
    before the change and after it; the block that makes the change tells what it learns on
    the way (the row it ``created``, ``note``d details of the outcome, a row ``removed``), or
    sets ``before`` and ``after`` itself when the state is not a row's fields."""

    def __init__(
        self,
        *,
        subject: Model | None,
        fields: tuple[str, ...],
        target_type: str | None,
        target_id: object,
    ) -> None:
        self.subject = subject
        self.fields = fields
        self.target_type = target_type
        self.target_id = target_id
        self.before: dict[str, Any] | None = (
            snapshot(subject, fields) if subject is not None else None
        )
        self.details: dict[str, Any] = {}
        self.recorded = True
        self._after: dict[str, Any] | None = None
        self._after_given = False

    def created(self, row: M) -> M:
        """The change created ``row``: the entry is about it, with nothing before."""
        self.subject = row
        return row

    def removed(self) -> None:
        """The change deleted the row: nothing is left after."""
        self.after = None

    def note(self, **details: Any) -> None:
        """Details of the outcome, recorded beside the row's fields after the change."""
        self.details.update(details)

    def unchanged(self) -> None:
        """Nothing changed after all (a concurrent call did it): nothing is recorded."""
        self.recorded = False

    @property
    def after(self) -> dict[str, Any] | None:
        if self._after_given:
            return self._after
        if self.subject is None:
            return None
        return snapshot(self.subject, self.fields) | self.details

    @after.setter
    def after(self, value: dict[str, Any] | None) -> None:
        self._after, self._after_given = value, True


@asynccontextmanager
async def audited(
    conn: BaseDBAsyncClient,
    *,
    actor: Actor | None,
    action: str,
    now: datetime,
    subject: Model | None = None,
    fields: tuple[str, ...] = (),
    target_type: str | None = None,
    target_id: object = None,
) -> AsyncIterator[AuditedChange]:
    """Record the change the block makes, in the caller's transaction: the change and its
    record commit together or not at all, and a block that raises records nothing.

    ``actor`` did ``action`` (``season.update``) to ``subject`` (a row; its model's name and
    key name it unless ``target_type`` and ``target_id`` say otherwise), whose ``fields``
    are snapshotted as the block starts and as it ends. A None ``actor`` (a test or a
    script, not a person) records nothing.
    """
    change = AuditedChange(
        subject=subject, fields=fields, target_type=target_type, target_id=target_id
    )
    yield change
    if actor is None or not change.recorded:
        return
    subject = change.subject
    await AuditEntry.create(
        actor=actor.subject,
        actor_role=actor.role,
        action=action,
        target_type=change.target_type or type(subject).__name__,
        target_id=str(change.target_id if change.target_id is not None else subject.pk),  # type: ignore[union-attr]
        before=change.before,
        after=change.after,
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
