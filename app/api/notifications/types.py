"""GraphQL results of a member's inbox housekeeping."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.shared.errors import ForbiddenType, ValidationFailed


@strawberry.type(description="The notifications are marked as read.")
class NotificationsMarked:
    marked: int = strawberry.field(description="Notifications newly marked as read.")
    unread: int = strawberry.field(description="Unread notifications left.")


MarkNotificationsReadResult = Annotated[
    NotificationsMarked | ValidationFailed | ForbiddenType,
    strawberry.union(
        "MarkNotificationsReadResult",
        description="NotificationsMarked, or: ValidationFailed (neither or both of ids and "
        "all, or an id that is not a Notification's), Forbidden (not a member token).",
    ),
]
