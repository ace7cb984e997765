"""GraphQL types of badges, as marketers define them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import Badge
from gamification.badges import BadgeMetric as BadgeMetricEnum

BadgeMetric = described_enum(
    BadgeMetricEnum,
    name="BadgeMetric",
    description="What a badge counts: TASK_COMPLETED and EVENTS name a task or event type.",
    values={
        "TASKS_COMPLETED": "Growth task completions, all tasks together.",
        "TASK_COMPLETED": "Completions of one task, named by subject.",
        "STREAK_DAYS": "The longest run of consecutive active local days.",
        "TIER_REACHED": "The highest tier rank ever held.",
        "LIFETIME_POINTS": "Points ever earned.",
        "EVENTS": "Events of one type, named by subject.",
    },
)


@strawberry.type(name="Badge", description="A badge as marketers define it.")
class BadgeType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the badge.")
    code: str = strawberry.field(description="Stable code, unique.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Text for members to read.")
    metric: BadgeMetric = strawberry.field(  # type: ignore[valid-type]
        description="What the badge counts."
    )
    subject: str | None = strawberry.field(
        description="The task code (TASK_COMPLETED) or event type code (EVENTS) counted."
    )
    thresholds: list[int] = strawberry.field(
        description="Ascending, one per level; empty: only a task reward gives it."
    )
    hidden: bool = strawberry.field(description="True: members see it only once earned.")

    @classmethod
    def from_model(cls, badge: Badge) -> BadgeType:
        return cls(
            id=strawberry.ID(encode_id("Badge", badge.id)),
            code=badge.code,
            name=badge.name,
            description=badge.description,
            metric=badge.metric,
            subject=badge.subject,
            thresholds=[int(t) for t in badge.thresholds],
            hidden=badge.hidden,
        )


@strawberry.input(description="A new badge.")
class CreateBadgeInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    metric: BadgeMetric = strawberry.field(  # type: ignore[valid-type]
        description="What the badge counts."
    )
    thresholds: list[int] = strawberry.field(
        description="The count each level needs: at most 5 levels (bronze to diamond), each"
        " 1 to 1,000,000,000, strictly ascending; empty: only a task's "
        "rewardBadge gives it."
    )
    subject: str | None = strawberry.field(
        default=None,
        description="The task code (TASK_COMPLETED) or event type code (EVENTS) counted; "
        "null for the other metrics.",
    )
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )
    hidden: bool = strawberry.field(
        default=False, description="True: members see it only once earned."
    )


@strawberry.input(description="Only the fields given change; null clears subject.")
class UpdateBadgeInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )
    metric: BadgeMetric | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="What the badge counts."
    )
    subject: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The task code (TASK_COMPLETED) or event type code (EVENTS) counted; "
        "null for the other metrics.",
    )
    thresholds: list[int] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The count each level needs: at most 5 levels (bronze to diamond), each"
        " 1 to 1,000,000,000, strictly ascending; empty: only a task's "
        "rewardBadge gives it.",
    )
    hidden: bool | None = strawberry.field(
        default=strawberry.UNSET, description="True: members see it only once earned."
    )


@strawberry.type(description="The badge is saved (and audited).")
class BadgeSaved:
    badge: BadgeType = strawberry.field(description="The badge as saved.")


BadgeResult = Annotated[
    BadgeSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "BadgeResult",
        description="BadgeSaved, or: ValidationFailed (the problems listed), NotFound (no such "
        "badge), Forbidden (not a marketer or an admin).",
    ),
]
