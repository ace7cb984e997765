"""A member marks their notifications read."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.notifications.types import MarkNotificationsReadResult, NotificationsMarked
from app.api.shared.context import Context
from app.api.shared.errors import ValidationFailed
from app.api.shared.ids import decode_id
from app.api.shared.permissions import caller, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import Notification
from app.services.notifications.inbox import mark_read


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Mark the signed-in member's notifications as read: the ids given, or all "
        "(member tokens only). Ids already read, unknown or of another member are left alone.",
        extensions=[roles(Role.MEMBER)],
    )
    @typed_failures
    async def mark_notifications_read(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Notification ids; give these or all: true."),
        ] = None,
        all: Annotated[
            bool,
            strawberry.argument(description="True: every unread notification; or give ids."),
        ] = False,
    ) -> MarkNotificationsReadResult:
        principal = caller(info)
        member_id = principal.member_id
        assert member_id is not None  # member tokens always carry one
        if all == (ids is not None):
            return ValidationFailed.single("ids", "give either ids or all: true")
        pks = []
        for value in ids or []:
            pk = decode_id(value, kind="Notification")
            if pk is None:
                return ValidationFailed.single("ids", f"{value} is not a Notification id")
            pks.append(pk)
        marked = await mark_read(
            member_id=member_id, ids=None if all else pks, now=info.context.now
        )
        unread = await Notification.filter(member_id=member_id, read_at__isnull=True).count()
        return NotificationsMarked(marked=marked, unread=unread)
