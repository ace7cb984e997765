"""Marketer and admin reads: seasons, growth tasks, badges, event types, the audit log."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.marketing.types import (
    AuditEntryType,
    AuditFilter,
    BadgeType,
    EventTypeType,
    GrowthTaskType,
    SeasonType,
    TaskStatus,
)
from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor
from app.api.shared.pagination import (
    After,
    Connection,
    First,
    check_page_size,
    first_key,
    rows_before,
)
from app.api.shared.permissions import CATALOGUE_EDITORS, require_role
from app.auth import Role
from app.models import Badge, EventType, GrowthTask, Season
from app.services.shared.audit import audit_page


@strawberry.type
class MarketingQueries:
    @strawberry.field(description="Seasons, newest first (marketers, admins).")
    async def seasons(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived seasons too.")
        ] = False,
    ) -> Connection[SeasonType]:
        require_role(info, *CATALOGUE_EDITORS)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = Season.all().order_by("-id")
        if not include_archived:
            query = query.filter(archived_at__isnull=True)
        listed = query
        if (before := decode_cursor(after)) is not None:
            query = query.filter(id__lt=before)
        rows = await query.limit(first + 1)
        return Connection[SeasonType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda s: s.id,
            previous=rows_before(before, lambda: first_key(listed), descending=True),
            node=SeasonType.from_model,
        )

    @strawberry.field(description="Growth tasks in creation order (marketers, admins).")
    async def growth_tasks(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        status: Annotated[
            TaskStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only tasks of this status; null: every task."),
        ] = None,
    ) -> Connection[GrowthTaskType]:
        require_role(info, *CATALOGUE_EDITORS)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = GrowthTask.all().order_by("id")
        if status is not None:
            query = query.filter(status=status)
        listed = query
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[GrowthTaskType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda t: t.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=GrowthTaskType.from_model,
        )

    @strawberry.field(description="Badges in creation order (marketers, admins).")
    async def badges(
        self, info: Info[Context, None], first: First = 20, after: After = None
    ) -> Connection[BadgeType]:
        require_role(info, *CATALOGUE_EDITORS)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = listed = Badge.all().order_by("id")
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[BadgeType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda b: b.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=BadgeType.from_model,
        )

    @strawberry.field(description="The event catalogue in creation order (marketers, admins).")
    async def event_types(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_inactive: Annotated[
            bool, strawberry.argument(description="True: inactive types too.")
        ] = False,
    ) -> Connection[EventTypeType]:
        require_role(info, *CATALOGUE_EDITORS)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        query = EventType.all().order_by("id")
        if not include_inactive:
            query = query.filter(active=True)
        listed = query
        if (after_id := decode_cursor(after)) is not None:
            query = query.filter(id__gt=after_id)
        rows = await query.limit(first + 1)
        return Connection[EventTypeType].build(
            rows[:first],
            has_next=len(rows) > first,
            key=lambda e: e.id,
            previous=rows_before(after_id, lambda: first_key(listed), descending=False),
            node=EventTypeType.from_model,
        )

    @strawberry.field(description="Every marketer and admin change, newest first (admins).")
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
        require_role(info, Role.ADMIN)
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
