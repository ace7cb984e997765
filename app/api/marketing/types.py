"""GraphQL types of what marketers define, and of the audit log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.enums import described_enum
from app.api.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.ids import encode_id
from app.api.members.types import TaskCondition, TaskWindow
from app.models import AuditEntry, Badge, EventType, GrowthTask, Season
from app.models import TaskStatus as TaskStatusEnum
from gamification.badges import BadgeMetric as BadgeMetricEnum
from gamification.calendar import Window

TaskStatus = described_enum(
    TaskStatusEnum,
    name="TaskStatus",
    description="Whether a growth task counts events. Archived is final.",
    values={
        "ACTIVE": "Counting events, inside its schedule.",
        "PAUSED": "Not counting events for now; progress made stays.",
        "ARCHIVED": "Withdrawn for good; it cannot be changed or resumed.",
    },
)
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


@strawberry.type(name="Season", description="A time-boxed campaign with its own tasks.")
class SeasonType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the season.")
    code: str = strawberry.field(description="Stable code, unique, e.g. double11-2026.")
    name: str = strawberry.field(description="Display name.")
    starts_at: datetime = strawberry.field(
        description="When the season starts, UTC; its benefits switch on then."
    )
    ends_at: datetime = strawberry.field(description="Exclusive: the season is over then.")
    description: str = strawberry.field(description="Text for members to read.")
    archived: bool = strawberry.field(description="True once archived: its tasks are archived too.")

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
    id: strawberry.ID = strawberry.field(description="Opaque id of the task.")
    code: str = strawberry.field(description="Stable code, unique.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Text for members to read.")
    event_type: str = strawberry.field(description="The event type code whose events count.")
    condition: TaskCondition = strawberry.field(  # type: ignore[valid-type]
        description="How events count towards target."
    )
    target: int = strawberry.field(
        description="Events, amount or days (as condition counts) to complete it."
    )
    window: TaskWindow = strawberry.field(  # type: ignore[valid-type]
        description="The period progress is counted over and reset after."
    )
    per_window_limit: int | None = strawberry.field(
        description="Completions allowed per window; null: no limit."
    )
    cap: int | None = strawberry.field(
        description="Completions allowed per member in all; null: no cap."
    )
    min_tier_rank: int | None = strawberry.field(
        description="Lowest tier rank of the audience; null: from the base tier."
    )
    max_tier_rank: int | None = strawberry.field(
        description="Highest tier rank of the audience; null: to the top."
    )
    starts_at: datetime | None = strawberry.field(
        description="When the task opens, UTC; null: open from the start."
    )
    ends_at: datetime | None = strawberry.field(
        description="When the task closes, UTC, exclusive; null: never."
    )
    season_id: strawberry.ID | None = strawberry.field(
        description="The Season the task belongs to; null: none."
    )
    reward_points: int = strawberry.field(
        description="Points a completion gives, before tier and seasonal multipliers."
    )
    reward_growth: int = strawberry.field(description="Growth a completion gives.")
    reward_badge: str | None = strawberry.field(
        description="Code of a badge a completion gives; null: none."
    )
    status: TaskStatus = strawberry.field(  # type: ignore[valid-type]
        description="ACTIVE (counting), PAUSED or ARCHIVED."
    )

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


@strawberry.type(name="EventType", description="An entry of the event catalogue.")
class EventTypeType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the event type.")
    code: str = strawberry.field(description="The code recordEvent names it by, e.g. purchase.")
    name: str = strawberry.field(description="Display name.")
    base_points: int = strawberry.field(description="Flat points per event.")
    points_per_unit: Decimal = strawberry.field(description="Points per unit of amount.")
    counts_as_spend: bool = strawberry.field(
        description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool = strawberry.field(
        description="True: each event counts as a referral for growth."
    )
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


@strawberry.input(description="A new season.")
class CreateSeasonInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    starts_at: datetime = strawberry.field(description="When the season starts, with an offset.")
    ends_at: datetime = strawberry.field(
        description="When it ends, exclusive, with an offset; after startsAt."
    )
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )


@strawberry.input(description="Only the fields given change.")
class UpdateSeasonInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="When the season starts, with an offset."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When it ends, exclusive, with an offset; after startsAt.",
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )


@strawberry.input(description="A new growth task; it is ACTIVE at once.")
class CreateGrowthTaskInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    event_type: str = strawberry.field(
        description="The event type code whose events count; it must be in the event catalogue."
    )
    condition: TaskCondition = strawberry.field(  # type: ignore[valid-type]
        description="How events count towards target."
    )
    target: int = strawberry.field(
        description="Events, amount or days (as condition counts) to complete it: 1 to "
        "1,000,000,000."
    )
    window: TaskWindow = strawberry.field(  # type: ignore[valid-type]
        default=Window.LIFETIME, description="The period progress is counted over and reset after."
    )
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )
    per_window_limit: int | None = strawberry.field(
        default=1, description="Completions allowed per window, at least 1; null: no limit."
    )
    cap: int | None = strawberry.field(
        default=None, description="Completions allowed per member in all, at least 1; null: no cap."
    )
    min_tier_rank: int | None = strawberry.field(
        default=None, description="Lowest tier rank of the audience; null: from the base tier."
    )
    max_tier_rank: int | None = strawberry.field(
        default=None, description="Highest tier rank of the audience; null: to the top."
    )
    starts_at: datetime | None = strawberry.field(
        default=None,
        description="When the task opens (with an offset; inside its season if it has one);"
        " null: already open.",
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="When the task closes, exclusive, after startsAt; null: never."
    )
    season_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The Season the task belongs to (needed for a SEASON window); null: none.",
    )
    reward_points: int = strawberry.field(
        default=0,
        description="Points a completion gives, 0 to 1,000,000, before tier and seasonal "
        "multipliers.",
    )
    reward_growth: int = strawberry.field(
        default=0, description="Growth a completion gives, 0 to 1,000,000."
    )
    reward_badge: str | None = strawberry.field(
        default=None, description="Code of a badge a completion gives; null: none."
    )


@strawberry.input(description="Only the fields given change; null clears an optional one.")
class UpdateGrowthTaskInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; unique.",
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    event_type: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The event type code whose events count; it must be in the event catalogue.",
    )
    condition: TaskCondition | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How events count towards target."
    )
    target: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Events, amount or days (as condition counts) to complete it: 1 to "
        "1,000,000,000.",
    )
    window: TaskWindow | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="The period progress is counted over and reset after."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )
    per_window_limit: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Completions allowed per window, at least 1; null: no limit.",
    )
    cap: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Completions allowed per member in all, at least 1; null: no cap.",
    )
    min_tier_rank: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Lowest tier rank of the audience; null: from the base tier.",
    )
    max_tier_rank: int | None = strawberry.field(
        default=strawberry.UNSET, description="Highest tier rank of the audience; null: to the top."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the task opens (with an offset; inside its season if it has one);"
        " null: already open.",
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the task closes, exclusive, after startsAt; null: never.",
    )
    season_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The Season the task belongs to (needed for a SEASON window); null: none.",
    )
    reward_points: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Points a completion gives, 0 to 1,000,000, before tier and seasonal "
        "multipliers.",
    )
    reward_growth: int | None = strawberry.field(
        default=strawberry.UNSET, description="Growth a completion gives, 0 to 1,000,000."
    )
    reward_badge: str | None = strawberry.field(
        default=strawberry.UNSET, description="Code of a badge a completion gives; null: none."
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


@strawberry.input(description="A new type of the event catalogue, active at once.")
class CreateEventTypeInput:
    code: str = strawberry.field(
        description="Stable code, e.g. purchase: 2-32 characters of lowercase letters, "
        "digits, - and _; unique, never changed."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    base_points: int = strawberry.field(
        default=0, description="Flat points per event, 0 to 100,000."
    )
    points_per_unit: Decimal = strawberry.field(
        default=Decimal(0),
        description="Points per unit of amount, 0 to 1000 (a fraction rounds down per event).",
    )
    counts_as_spend: bool = strawberry.field(
        default=False, description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool = strawberry.field(
        default=False, description="True: each event counts as a referral for growth."
    )


@strawberry.input(description="Only the fields given change (the code never does).")
class UpdateEventTypeInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    base_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Flat points per event, 0 to 100,000."
    )
    points_per_unit: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="Points per unit of amount, 0 to 1000 (a fraction rounds down per event).",
    )
    counts_as_spend: bool | None = strawberry.field(
        default=strawberry.UNSET, description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool | None = strawberry.field(
        default=strawberry.UNSET, description="True: each event counts as a referral for growth."
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


@strawberry.type(description="The season is saved (and audited).")
class SeasonSaved:
    season: SeasonType = strawberry.field(description="The season as saved.")


@strawberry.type(description="The growth task is saved (and audited).")
class GrowthTaskSaved:
    task: GrowthTaskType = strawberry.field(description="The task as saved.")


SeasonResult = Annotated[
    SeasonSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "SeasonResult",
        description="SeasonSaved, or: ValidationFailed (the problems listed; an archived "
        "season cannot change), NotFound (no such season), Forbidden (not a marketer or an admin).",
    ),
]
GrowthTaskResult = Annotated[
    GrowthTaskSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "GrowthTaskResult",
        description="GrowthTaskSaved, or: ValidationFailed (the problems listed; an archived "
        "task cannot change), NotFound (no such task), Forbidden (not a marketer or an admin).",
    ),
]


@strawberry.type(description="The badge is saved (and audited).")
class BadgeSaved:
    badge: BadgeType = strawberry.field(description="The badge as saved.")


@strawberry.type(description="The event type is saved (and audited).")
class EventTypeSaved:
    event_type: EventTypeType = strawberry.field(description="The event type as saved.")


BadgeResult = Annotated[
    BadgeSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "BadgeResult",
        description="BadgeSaved, or: ValidationFailed (the problems listed), NotFound (no such "
        "badge), Forbidden (not a marketer or an admin).",
    ),
]
EventTypeResult = Annotated[
    EventTypeSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "EventTypeResult",
        description="EventTypeSaved, or: ValidationFailed (the problems listed; neither or "
        "both of id and code), NotFound (no such event type), Forbidden (not a marketer or an "
        "admin).",
    ),
]
