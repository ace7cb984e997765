"""What marketers define: seasons, growth tasks, badges, event types.

Validated, audited, one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.fields import CharField
from tortoise.transactions import in_transaction

from app.models import Badge, EventType, GrowthTask, Season, TaskStatus
from app.services import audit
from app.services.audit import Actor
from app.services.errors import InvalidInput, NotFound
from app.services.ladder import tiers_in_force
from gamification.badges import BadgeMetric
from gamification.calendar import Window
from gamification.catalogue import (
    SeasonBounds,
    check_badge,
    check_event_type,
    check_season,
    check_task,
)
from gamification.problems import api_field
from gamification.tasks import Condition

SEASON_FIELDS = ("code", "name", "starts_at", "ends_at", "description", "archived_at")
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
BADGE_FIELDS = ("code", "name", "description", "metric", "subject", "thresholds", "hidden")
EVENT_TYPE_FIELDS = (
    "code",
    "name",
    "base_points",
    "points_per_unit",
    "counts_as_spend",
    "counts_as_referral",
    "active",
)
# What may change after creation: codes are what tasks, badges and events refer to.
BADGE_CHANGEABLE = ("name", "description", "metric", "subject", "thresholds", "hidden")
EVENT_TYPE_CHANGEABLE = (
    "name",
    "base_points",
    "points_per_unit",
    "counts_as_spend",
    "counts_as_referral",
)


async def create_season(
    *,
    code: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    actor: Actor,
    now: datetime,
) -> Season:
    problems = check_season(
        code=code, name=name, starts_at=starts_at, ends_at=ends_at, description=description
    )
    if problems:
        raise InvalidInput(problems)
    try:
        async with in_transaction() as conn:
            season = await Season.create(
                code=code,
                name=name.strip(),
                starts_at=starts_at,
                ends_at=ends_at,
                description=description,
                using_db=conn,
            )
            await audit.record(
                conn,
                actor=actor,
                action="season.create",
                target_type="Season",
                target_id=season.id,
                before=None,
                after=audit.snapshot(season, SEASON_FIELDS),
                now=now,
            )
    except IntegrityError:
        raise InvalidInput.single("code", f"{code!r} is already used by another season") from None
    return season


async def update_season(
    *, season_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Season:
    """Change some of a season's fields (code, name, startsAt, endsAt, description)."""
    async with in_transaction() as conn:
        season = await Season.filter(id=season_id).select_for_update().using_db(conn).first()
        if season is None:
            raise NotFound("Season", season_id)
        if season.archived_at is not None:
            raise InvalidInput.single("id", "an archived season cannot be changed")
        before = audit.snapshot(season, SEASON_FIELDS)
        merged_values = {
            "code": changes.get("code", season.code),
            "name": changes.get("name", season.name),
            "starts_at": changes.get("starts_at", season.starts_at),
            "ends_at": changes.get("ends_at", season.ends_at),
            "description": changes.get("description", season.description),
        }
        problems = check_season(**merged_values)
        if problems:
            raise InvalidInput(problems)
        for name, value in merged_values.items():
            setattr(season, name, value)
        try:
            await season.save(using_db=conn)
        except IntegrityError:
            raise InvalidInput.single("code", "is already used by another season") from None
        await audit.record(
            conn,
            actor=actor,
            action="season.update",
            target_type="Season",
            target_id=season.id,
            before=before,
            after=audit.snapshot(season, SEASON_FIELDS),
            now=now,
        )
    return season


async def archive_season(*, season_id: int, actor: Actor, now: datetime) -> Season:
    """Archive a season and archive its tasks with it; archiving twice changes nothing."""
    async with in_transaction() as conn:
        season = await Season.filter(id=season_id).select_for_update().using_db(conn).first()
        if season is None:
            raise NotFound("Season", season_id)
        if season.archived_at is not None:
            return season
        before = audit.snapshot(season, SEASON_FIELDS)
        season.archived_at = now
        await season.save(using_db=conn)
        await (
            GrowthTask.filter(season_id=season.id).using_db(conn).update(status=TaskStatus.ARCHIVED)
        )
        await audit.record(
            conn,
            actor=actor,
            action="season.archive",
            target_type="Season",
            target_id=season.id,
            before=before,
            after=audit.snapshot(season, SEASON_FIELDS),
            now=now,
        )
    return season


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


async def create_task(*, definition: TaskDefinition, actor: Actor, now: datetime) -> GrowthTask:
    await _check_task(definition, now=now)
    fields = {name: getattr(definition, name) for name in TaskDefinition.__slots__}
    try:
        async with in_transaction() as conn:
            task = await GrowthTask.create(**fields, using_db=conn)
            await audit.record(
                conn,
                actor=actor,
                action="task.create",
                target_type="GrowthTask",
                target_id=task.id,
                before=None,
                after=audit.snapshot(task, TASK_FIELDS),
                now=now,
            )
    except IntegrityError:
        raise InvalidInput.single("code", f"{definition.code!r} is already used") from None
    return task


async def update_task(
    *, task_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> GrowthTask:
    """Change some fields of a task (any of TaskDefinition's); progress already made stays."""
    unknown = set(changes) - set(TaskDefinition.__slots__)
    if unknown:
        raise InvalidInput.single(api_field(sorted(unknown)[0]), "cannot be changed")
    task = await GrowthTask.get_or_none(id=task_id)
    if task is None:
        raise NotFound("GrowthTask", task_id)
    if task.status is TaskStatus.ARCHIVED:
        raise InvalidInput.single("id", "an archived task cannot be changed")
    current = {name: getattr(task, name) for name in TaskDefinition.__slots__}
    definition = TaskDefinition(**{**current, **changes})
    await _check_task(definition, now=now)
    async with in_transaction() as conn:
        before = audit.snapshot(task, TASK_FIELDS)
        for name, value in changes.items():
            setattr(task, name, value)
        try:
            await task.save(using_db=conn)
        except IntegrityError:
            raise InvalidInput.single("code", "is already used by another task") from None
        await audit.record(
            conn,
            actor=actor,
            action="task.update",
            target_type="GrowthTask",
            target_id=task.id,
            before=before,
            after=audit.snapshot(task, TASK_FIELDS),
            now=now,
        )
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
        task = await GrowthTask.filter(id=task_id).select_for_update().using_db(conn).first()
        if task is None:
            raise NotFound("GrowthTask", task_id)
        if task.status is status:
            return task
        if status not in _TRANSITIONS[task.status]:
            raise InvalidInput.single(
                "status", f"a {task.status.value} task cannot become {status.value}"
            )
        before = audit.snapshot(task, TASK_FIELDS)
        task.status = status
        await task.save(using_db=conn)
        await audit.record(
            conn,
            actor=actor,
            action=f"task.{status.value}",
            target_type="GrowthTask",
            target_id=task.id,
            before=before,
            after=audit.snapshot(task, TASK_FIELDS),
            now=now,
        )
    return task


async def _subject_known(metric: BadgeMetric, subject: str | None) -> bool | None:
    if not subject:
        return None
    if metric is BadgeMetric.TASK_COMPLETED:
        return await GrowthTask.filter(code=subject).exists()
    if metric is BadgeMetric.EVENTS:
        return await EventType.filter(code=subject).exists()
    return None


async def _check_badge(values: dict[str, Any]) -> None:
    problems = check_badge(
        code=values["code"],
        name=values["name"],
        description=values["description"],
        metric=values["metric"],
        subject=values["subject"],
        subject_known=await _subject_known(values["metric"], values["subject"]),
        thresholds=values["thresholds"],
    )
    if problems:
        raise InvalidInput(problems)


async def create_badge(
    *,
    code: str,
    name: str,
    metric: BadgeMetric,
    thresholds: list[int],
    subject: str | None = None,
    description: str = "",
    hidden: bool = False,
    actor: Actor,
    now: datetime,
) -> Badge:
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "description": description,
        "metric": metric,
        "subject": subject,
        "thresholds": list(thresholds),
        "hidden": hidden,
    }
    await _check_badge(values)
    values["name"] = name.strip()
    try:
        async with in_transaction() as conn:
            badge = await Badge.create(**values, using_db=conn)
            await audit.record(
                conn,
                actor=actor,
                action="badge.create",
                target_type="Badge",
                target_id=badge.id,
                before=None,
                after=audit.snapshot(badge, BADGE_FIELDS),
                now=now,
            )
    except IntegrityError:
        raise InvalidInput.single("code", f"{code!r} is already used by another badge") from None
    return badge


async def update_badge(
    *, badge_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Badge:
    """Change some of a badge's fields; levels members already hold stay theirs."""
    unknown = set(changes) - set(BADGE_CHANGEABLE)
    if unknown:
        raise InvalidInput.single(api_field(sorted(unknown)[0]), "cannot be changed")
    async with in_transaction() as conn:
        badge = await Badge.filter(id=badge_id).select_for_update().using_db(conn).first()
        if badge is None:
            raise NotFound("Badge", badge_id)
        before = audit.snapshot(badge, BADGE_FIELDS)
        merged = {name: getattr(badge, name) for name in BADGE_FIELDS} | changes
        await _check_badge(merged)
        for name, value in changes.items():
            setattr(badge, name, value.strip() if name == "name" else value)
        await badge.save(using_db=conn)
        await audit.record(
            conn,
            actor=actor,
            action="badge.update",
            target_type="Badge",
            target_id=badge.id,
            before=before,
            after=audit.snapshot(badge, BADGE_FIELDS),
            now=now,
        )
    return badge


def _check_event_type(values: dict[str, Any]) -> None:
    problems = check_event_type(
        code=values["code"],
        name=values["name"],
        base_points=values["base_points"],
        points_per_unit=values["points_per_unit"],
    )
    if problems:
        raise InvalidInput(problems)


async def create_event_type(
    *,
    code: str,
    name: str,
    base_points: int = 0,
    points_per_unit: Decimal = Decimal(0),
    counts_as_spend: bool = False,
    counts_as_referral: bool = False,
    actor: Actor,
    now: datetime,
) -> EventType:
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "base_points": base_points,
        "points_per_unit": points_per_unit,
        "counts_as_spend": counts_as_spend,
        "counts_as_referral": counts_as_referral,
    }
    _check_event_type(values)
    values["name"] = name.strip()
    try:
        async with in_transaction() as conn:
            event_type = await EventType.create(**values, using_db=conn)
            await audit.record(
                conn,
                actor=actor,
                action="eventType.create",
                target_type="EventType",
                target_id=event_type.id,
                before=None,
                after=audit.snapshot(event_type, EVENT_TYPE_FIELDS),
                now=now,
            )
    except IntegrityError:
        raise InvalidInput.single(
            "code", f"{code!r} is already used by another event type"
        ) from None
    return event_type


async def update_event_type(
    *,
    changes: dict[str, Any],
    actor: Actor,
    now: datetime,
    event_type_id: int | None = None,
    code: str | None = None,
) -> EventType:
    """Change some fields of an event type (named by id or by code); events recorded stay."""
    unknown = set(changes) - set(EVENT_TYPE_CHANGEABLE) - {"active"}
    if unknown:
        raise InvalidInput.single(api_field(sorted(unknown)[0]), "cannot be changed")
    async with in_transaction() as conn:
        query = EventType.filter(id=event_type_id) if code is None else EventType.filter(code=code)
        event_type = await query.select_for_update().using_db(conn).first()
        if event_type is None:
            raise NotFound("EventType", code if code is not None else event_type_id)
        if all(getattr(event_type, name) == value for name, value in changes.items()):
            return event_type
        before = audit.snapshot(event_type, EVENT_TYPE_FIELDS)
        _check_event_type({name: getattr(event_type, name) for name in EVENT_TYPE_FIELDS} | changes)
        for name, value in changes.items():
            setattr(event_type, name, value.strip() if name == "name" else value)
        await event_type.save(using_db=conn)
        await audit.record(
            conn,
            actor=actor,
            action="eventType.update",
            target_type="EventType",
            target_id=event_type.id,
            before=before,
            after=audit.snapshot(event_type, EVENT_TYPE_FIELDS),
            now=now,
        )
    return event_type


async def set_event_type_active(
    *, event_type_id: int, active: bool, actor: Actor, now: datetime
) -> EventType:
    """Stop (or resume) accepting events of a type. Setting what it has changes nothing."""
    return await update_event_type(
        event_type_id=event_type_id, changes={"active": active}, actor=actor, now=now
    )
