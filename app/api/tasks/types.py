"""GraphQL types of growth tasks, as marketers define them, and their enums."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import GrowthTask
from app.models import TaskStatus as TaskStatusEnum
from gamification.shared.calendar import Window
from gamification.tasks import Condition

TaskCondition = described_enum(
    Condition,
    name="TaskCondition",
    description="What a growth task counts towards its target within its window.",
    values={
        "COUNT": "Events of the task's type: at least target of them.",
        "SUM": "The events' amounts added up: at least target (in the amount's unit, e.g. "
        "the currency spent).",
        "STREAK": "Events on target consecutive local days (the programme's time zone).",
        "DISTINCT_DAYS": "Events on target different local days, not necessarily in a row.",
    },
)
TaskWindow = described_enum(
    Window,
    name="TaskWindow",
    description="The period a task's progress is counted over; progress starts afresh in each "
    "new period (local days, ISO weeks from Monday and months of the programme's time zone).",
    values={
        "LIFETIME": "Never resets.",
        "DAY": "One local day.",
        "WEEK": "One ISO week, Monday to Sunday.",
        "MONTH": "One calendar month.",
        "SEASON": "The task's season, from its start to its end (needs a season).",
    },
)

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
    badge: TaskBadgeInput | None = strawberry.field(
        default=None,
        description="A badge created with the task, in the same transaction, that completing "
        "it gives: it counts the task's completions (metric TASK_COMPLETED, this task as its "
        "subject) and becomes the task's rewardBadge (leave rewardBadge out). Its problems "
        "are named badge.code, badge.thresholds, ...; null: no new badge.",
    )


@strawberry.input(
    description="A badge created with its growth task (createGrowthTask's badge), counting "
    "that task's completions."
)
class TaskBadgeInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 characters of lowercase letters, digits, - and _; "
        "unique among badges."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    description: str = strawberry.field(default="", description="Up to 1,000 characters.")
    hidden: bool = strawberry.field(
        default=False, description="True: members see it only once earned."
    )
    thresholds: list[int] = strawberry.field(
        default_factory=lambda: [1],
        description="Completions of the task each level needs, strictly ascending, at most "
        "five levels: [1] (the default) is earned at the first completion.",
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


@strawberry.type(description="The growth task is saved (and audited).")
class GrowthTaskSaved:
    task: GrowthTaskType = strawberry.field(description="The task as saved.")


GrowthTaskResult = Annotated[
    GrowthTaskSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "GrowthTaskResult",
        description="GrowthTaskSaved, or: ValidationFailed (the problems listed; an archived "
        "task cannot change), NotFound (no such task), Forbidden (not a marketer or an admin).",
    ),
]
