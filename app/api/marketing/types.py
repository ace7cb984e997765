"""GraphQL types of what marketers define, and of the audit log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.ids import encode_id
from app.api.members.types import TaskCondition, TaskWindow
from app.models import AuditEntry, Badge, EventType, GrowthTask, Season
from app.models import TaskStatus as TaskStatusEnum
from gamification.badges import BadgeMetric as BadgeMetricEnum
from gamification.calendar import Window

TaskStatus = strawberry.enum(TaskStatusEnum, name="TaskStatus")
BadgeMetric = strawberry.enum(
    BadgeMetricEnum,
    name="BadgeMetric",
    description="What a badge counts: TASK_COMPLETED and EVENTS name a task or event type.",
)


@strawberry.type(name="Season", description="A time-boxed campaign with its own tasks.")
class SeasonType:
    id: strawberry.ID
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime = strawberry.field(description="Exclusive: the season is over then.")
    description: str
    archived: bool

    @classmethod
    def from_model(cls, season: Season) -> SeasonType:
        return cls(
            id=strawberry.ID(encode_id("Season", season.id)),
            code=season.code,
            name=season.name,
            starts_at=season.starts_at,
            ends_at=season.ends_at,
            description=season.description,
            archived=season.archived_at is not None,
        )


@strawberry.type(name="GrowthTask", description="A task as marketers define it.")
class GrowthTaskType:
    id: strawberry.ID
    code: str
    name: str
    description: str
    event_type: str
    condition: TaskCondition  # type: ignore[valid-type]
    target: int
    window: TaskWindow  # type: ignore[valid-type]
    per_window_limit: int | None
    cap: int | None
    min_tier_rank: int | None
    max_tier_rank: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    season_id: strawberry.ID | None
    reward_points: int
    reward_growth: int
    reward_badge: str | None
    status: TaskStatus  # type: ignore[valid-type]

    @classmethod
    def from_model(cls, task: GrowthTask) -> GrowthTaskType:
        return cls(
            id=strawberry.ID(encode_id("GrowthTask", task.id)),
            code=task.code,
            name=task.name,
            description=task.description,
            event_type=task.event_type,
            condition=task.condition,
            target=task.target,
            window=task.window,
            per_window_limit=task.per_window_limit,
            cap=task.cap,
            min_tier_rank=task.min_tier_rank,
            max_tier_rank=task.max_tier_rank,
            starts_at=task.starts_at,
            ends_at=task.ends_at,
            season_id=strawberry.ID(encode_id("Season", task.season_id))
            if task.season_id
            else None,
            reward_points=task.reward_points,
            reward_growth=task.reward_growth,
            reward_badge=task.reward_badge,
            status=task.status,
        )


@strawberry.type(name="Badge", description="A badge as marketers define it.")
class BadgeType:
    id: strawberry.ID
    code: str
    name: str
    description: str
    metric: BadgeMetric  # type: ignore[valid-type]
    subject: str | None = strawberry.field(
        description="The task code (TASK_COMPLETED) or event type code (EVENTS) counted."
    )
    thresholds: list[int] = strawberry.field(
        description="Ascending, one per level; empty: only a task reward gives it."
    )
    hidden: bool

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


@strawberry.type(name="EventType", description="An entry of the event catalogue.")
class EventTypeType:
    id: strawberry.ID
    code: str
    name: str
    base_points: int = strawberry.field(description="Flat points per event.")
    points_per_unit: Decimal = strawberry.field(description="Points per unit of amount.")
    counts_as_spend: bool
    counts_as_referral: bool
    active: bool = strawberry.field(description="Inactive types are refused by recordEvent.")

    @classmethod
    def from_model(cls, event_type: EventType) -> EventTypeType:
        return cls(
            id=strawberry.ID(encode_id("EventType", event_type.id)),
            code=event_type.code,
            name=event_type.name,
            base_points=event_type.base_points,
            points_per_unit=event_type.points_per_unit,
            counts_as_spend=event_type.counts_as_spend,
            counts_as_referral=event_type.counts_as_referral,
            active=event_type.active,
        )


@strawberry.type(name="AuditEntry", description="One change by a marketer or an admin.")
class AuditEntryType:
    id: strawberry.ID
    actor: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    before: JSON | None
    after: JSON | None
    at: datetime

    @classmethod
    def from_model(cls, entry: AuditEntry) -> AuditEntryType:
        return cls(
            id=strawberry.ID(encode_id("AuditEntry", entry.id)),
            actor=entry.actor,
            actor_role=entry.actor_role,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            before=entry.before,
            after=entry.after,
            at=entry.at,
        )


@strawberry.input
class CreateSeasonInput:
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""


@strawberry.input(description="Only the fields given change.")
class UpdateSeasonInput:
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class CreateGrowthTaskInput:
    code: str
    name: str
    event_type: str
    condition: TaskCondition  # type: ignore[valid-type]
    target: int
    window: TaskWindow = Window.LIFETIME  # type: ignore[valid-type]
    description: str = ""
    per_window_limit: int | None = 1
    cap: int | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    season_id: strawberry.ID | None = None
    reward_points: int = 0
    reward_growth: int = 0
    reward_badge: str | None = None


@strawberry.input(description="Only the fields given change; null clears an optional one.")
class UpdateGrowthTaskInput:
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    event_type: str | None = strawberry.UNSET
    condition: TaskCondition | None = strawberry.UNSET  # type: ignore[valid-type]
    target: int | None = strawberry.UNSET
    window: TaskWindow | None = strawberry.UNSET  # type: ignore[valid-type]
    description: str | None = strawberry.UNSET
    per_window_limit: int | None = strawberry.UNSET
    cap: int | None = strawberry.UNSET
    min_tier_rank: int | None = strawberry.UNSET
    max_tier_rank: int | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    season_id: strawberry.ID | None = strawberry.UNSET
    reward_points: int | None = strawberry.UNSET
    reward_growth: int | None = strawberry.UNSET
    reward_badge: str | None = strawberry.UNSET


@strawberry.input
class CreateBadgeInput:
    code: str
    name: str
    metric: BadgeMetric  # type: ignore[valid-type]
    thresholds: list[int]
    subject: str | None = None
    description: str = ""
    hidden: bool = False


@strawberry.input(description="Only the fields given change; null clears subject.")
class UpdateBadgeInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    metric: BadgeMetric | None = strawberry.UNSET  # type: ignore[valid-type]
    subject: str | None = strawberry.UNSET
    thresholds: list[int] | None = strawberry.UNSET
    hidden: bool | None = strawberry.UNSET


@strawberry.input
class CreateEventTypeInput:
    code: str
    name: str
    base_points: int = 0
    points_per_unit: Decimal = Decimal(0)
    counts_as_spend: bool = False
    counts_as_referral: bool = False


@strawberry.input(description="Only the fields given change (the code never does).")
class UpdateEventTypeInput:
    name: str | None = strawberry.UNSET
    base_points: int | None = strawberry.UNSET
    points_per_unit: Decimal | None = strawberry.UNSET
    counts_as_spend: bool | None = strawberry.UNSET
    counts_as_referral: bool | None = strawberry.UNSET


@strawberry.input
class AuditFilter:
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None


@strawberry.type
class SeasonSaved:
    season: SeasonType


@strawberry.type
class GrowthTaskSaved:
    task: GrowthTaskType


SeasonResult = Annotated[
    SeasonSaved | ValidationFailed | NotFoundType | ForbiddenType, strawberry.union("SeasonResult")
]
GrowthTaskResult = Annotated[
    GrowthTaskSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("GrowthTaskResult"),
]


@strawberry.type
class BadgeSaved:
    badge: BadgeType


@strawberry.type
class EventTypeSaved:
    event_type: EventTypeType


BadgeResult = Annotated[
    BadgeSaved | ValidationFailed | NotFoundType | ForbiddenType, strawberry.union("BadgeResult")
]
EventTypeResult = Annotated[
    EventTypeSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("EventTypeResult"),
]
