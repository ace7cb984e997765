"""Growth tasks as marketers define them: created, changed, paused, archived.

Validated, audited, one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.fields import CharField
from tortoise.transactions import in_transaction

from app.models import Badge, EventType, GrowthTask, Season, TaskStatus
from app.services.badges.catalogue import create_badge
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import create_entry
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from app.services.tiers.ladder import tiers_in_force
from gamification.badges import BadgeMetric, check_badge
from gamification.seasons import SeasonBounds
from gamification.shared.calendar import Window
from gamification.shared.problems import Problem
from gamification.tasks import Condition, check_task

TASK_FIELDS = (
    "code",
    "name",
    "description",
    "event_type",
    "condition",
    "target",
    "window",
    "per_window_limit",
    "cap",
    "min_tier_rank",
    "max_tier_rank",
    "starts_at",
    "ends_at",
    "season_id",
    "reward_points",
    "reward_growth",
    "reward_badge",
    "status",
)


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    code: str
    name: str
    event_type: str
    condition: Condition
    target: int
    window: Window = Window.LIFETIME
    description: str = ""
    per_window_limit: int | None = 1
    cap: int | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    season_id: int | None = None
    reward_points: int = 0
    reward_growth: int = 0
    reward_badge: str | None = None


async def _code_exists(model: type[EventType] | type[Badge], code: str) -> bool:
    # Tortoise refuses a filter value longer than the column (a ValidationError, a 500);
    # no such code can exist.
    column = model._meta.fields_map["code"]
    if isinstance(column, CharField) and len(code) > column.max_length:
        return False
    return await model.filter(code=code).exists()


async def _check_task(definition: TaskDefinition, *, now: datetime) -> None:
    season = None
    if definition.season_id is not None:
        season = await Season.get_or_none(id=definition.season_id)
        if season is None or season.archived_at is not None:
            raise InvalidInput.single("seasonId", "is not an active season")
    problems = check_task(
        code=definition.code,
        name=definition.name,
        description=definition.description,
        event_type_known=await _code_exists(EventType, definition.event_type),
        condition=definition.condition,
        target=definition.target,
        window=definition.window,
        per_window_limit=definition.per_window_limit,
        cap=definition.cap,
        min_tier_rank=definition.min_tier_rank,
        max_tier_rank=definition.max_tier_rank,
        tier_count=len(await tiers_in_force(now=now)),
        starts_at=definition.starts_at,
        ends_at=definition.ends_at,
        season=SeasonBounds(season.starts_at, season.ends_at) if season else None,
        reward_points=definition.reward_points,
        reward_growth=definition.reward_growth,
        reward_badge_known=(
            await _code_exists(Badge, definition.reward_badge) if definition.reward_badge else None
        ),
    )
    if problems:
        raise InvalidInput(problems)


@dataclass(frozen=True, slots=True)
class TaskBadge:
    """A badge created with its task: it counts the task's completions (TASK_COMPLETED,
    the task as its subject) and the task gives it. Its problems are named ``badge.*``."""

    code: str
    name: str
    description: str = ""
    hidden: bool = False
    thresholds: tuple[int, ...] = (1,)


async def create_task(
    *,
    definition: TaskDefinition,
    badge: TaskBadge | None = None,
    actor: Actor,
    now: datetime,
) -> GrowthTask:
    """Create a task; with ``badge``, the badge it gives too, in the same transaction.

    A badge that counts a task names the task, and a task that gives a badge names the
    badge, so apart they can only be made in three steps (task, badge, then the task's
    reward). Together the task is written first, then its badge, then its reward."""
    if badge is not None:
        return await _create_task_with_badge(definition, badge, actor=actor, now=now)
    await _check_task(definition, now=now)
    fields = {name: getattr(definition, name) for name in TaskDefinition.__slots__}
    taken = InvalidInput.single("code", f"{definition.code!r} is already used")
    return await create_entry(
        GrowthTask, fields, "task.create", TASK_FIELDS, actor=actor, now=now, taken=taken
    )


async def _create_task_with_badge(
    definition: TaskDefinition, badge: TaskBadge, *, actor: Actor, now: datetime
) -> GrowthTask:
    problems: list[Problem] = []
    if definition.reward_badge is not None:
        problems.append(
            Problem("rewardBadge", "leave it out: the badge created with the task is its reward")
        )
    try:
        await _check_task(definition, now=now)
    except InvalidInput as invalid:
        problems += invalid.problems
    problems += [
        Problem(f"badge.{p.field}", p.message)
        for p in check_badge(
            code=badge.code,
            name=badge.name,
            description=badge.description,
            metric=BadgeMetric.TASK_COMPLETED,
            subject=definition.code,
            subject_known=True,  # written first, in this transaction
            thresholds=badge.thresholds,
        )
    ]
    if problems:
        raise InvalidInput(problems)
    async with in_transaction():
        task = await create_task(definition=definition, actor=actor, now=now)
        try:
            await create_badge(
                code=badge.code,
                name=badge.name,
                description=badge.description,
                hidden=badge.hidden,
                metric=BadgeMetric.TASK_COMPLETED,
                subject=task.code,
                thresholds=list(badge.thresholds),
                actor=actor,
                now=now,
            )
        except InvalidInput as invalid:
            raise InvalidInput(
                [Problem(f"badge.{p.field}", p.message) for p in invalid.problems]
            ) from None
        return await update_task(
            task_id=task.id, changes={"reward_badge": badge.code}, actor=actor, now=now
        )


async def update_task(
    *, task_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> GrowthTask:
    """Change some fields of a task (any of TaskDefinition's); progress already made stays."""
    update = PartialUpdate(changes, changeable=TaskDefinition.__slots__)
    task = await get_or_not_found(GrowthTask, task_id)
    if task.status is TaskStatus.ARCHIVED:
        raise InvalidInput.single("id", "an archived task cannot be changed")
    definition = TaskDefinition(**update.merged(task, TaskDefinition.__slots__))
    await _check_task(definition, now=now)
    async with in_transaction() as conn:
        async with audited(
            conn, actor=actor, action="task.update", subject=task, fields=TASK_FIELDS, now=now
        ):
            update.apply(task)
            try:
                await task.save(using_db=conn)
            except IntegrityError:
                raise InvalidInput.single("code", "is already used by another task") from None
    return task


# Which status a task may move to from which: archived is final.
_TRANSITIONS = {
    TaskStatus.ACTIVE: {TaskStatus.PAUSED, TaskStatus.ARCHIVED},
    TaskStatus.PAUSED: {TaskStatus.ACTIVE, TaskStatus.ARCHIVED},
    TaskStatus.ARCHIVED: set(),
}


async def set_task_status(
    *, task_id: int, status: TaskStatus, actor: Actor, now: datetime
) -> GrowthTask:
    """Pause, resume or archive a task. Setting the status it has changes nothing."""
    async with in_transaction() as conn:
        task = await get_locked_or_not_found(GrowthTask, task_id, conn=conn)
        if task.status is status:
            return task
        if status not in _TRANSITIONS[task.status]:
            raise InvalidInput.single(
                "status", f"a {task.status.value} task cannot become {status.value}"
            )
        async with audited(
            conn,
            actor=actor,
            action=f"task.{status.value}",
            subject=task,
            fields=TASK_FIELDS,
            now=now,
        ):
            task.status = status
            await task.save(using_db=conn)
    return task
