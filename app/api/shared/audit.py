"""The audit log over GraphQL: its entries, the filter, and the admins' read of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor, encode_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import roles
from app.auth import Role
from app.models import AuditEntry
from app.services.shared.audit import audit_page


@strawberry.type(name="AuditEntry", description="One change by a marketer or an admin.")
class AuditEntryType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the entry.")
    actor: str = strawberry.field(description="Who: the subject (sub claim) of the caller's token.")
    actor_role: str = strawberry.field(description="The caller's role: marketer or admin.")
    action: str = strawberry.field(
        description="What was done, e.g. season.update, task.create, points.award."
    )
    target_type: str = strawberry.field(
        description="The kind of thing changed, e.g. Season, GrowthTask, Member."
    )
    target_id: str = strawberry.field(
        description="Its database key as text (e.g. 42, not its GraphQL id), or its code."
    )
    before: JSON | None = strawberry.field(
        description="The changed thing's fields before, as a JSON object; null for a creation."
    )
    after: JSON | None = strawberry.field(
        description="Its fields after, as a JSON object; null when nothing is left."
    )
    at: datetime = strawberry.field(description="When, UTC.")

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditEntryType:
        return cls(
            id=strawberry.ID(encode_id("AuditEntry", entry.id)),
            actor=entry.actor,
            actor_role=entry.actor_role,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            before=JSON(entry.before),
            after=JSON(entry.after),
            at=entry.at,
        )


@strawberry.input(description="Narrows the audit log; the conditions given must all hold.")
class AuditFilter:
    action: str | None = strawberry.field(
        default=None, description="Only entries of this action, e.g. season.update."
    )
    target_type: str | None = strawberry.field(
        default=None, description="Only entries about this kind of thing, e.g. Season."
    )
    target_id: str | None = strawberry.field(
        default=None,
        description="Only entries about this target (its database key as text, or its code).",
    )


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Every marketer and admin change, newest first (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        filter: Annotated[
            AuditFilter | None,
            strawberry.argument(description="Only entries that match; null: every entry."),
        ] = None,
    ) -> Connection[AuditEntryType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        filters = {
            "action": filter.action if filter else None,
            "target_type": filter.target_type if filter else None,
            "target_id": filter.target_id if filter else None,
        }
        before = decode_cursor(after)
        rows, has_next = await audit_page(first=first, before_id=before, **filters)

        async def newest() -> int | None:
            found, _ = await audit_page(first=1, before_id=None, **filters)
            return found[0].id if found else None

        return Connection[AuditEntryType].build(
            rows,
            has_next=has_next,
            key=lambda e: e.id,
            node=AuditEntryType.from_model,
            previous=rows_before(before, newest, descending=True),
        )
