"""Growth tasks, seasons, badges, and what each member has of them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.enums import ENUM_DESCRIPTION as _ENUM
from gamification.badges import BadgeMetric, BadgeRule
from gamification.calendar import Season as SeasonSpan
from gamification.calendar import Window
from gamification.tasks import Condition, TaskProgress, TaskRule

if TYPE_CHECKING:
    from app.models.activity import Event
    from app.models.members import Member


class Season(Model):
    """A time-boxed campaign with its own tasks."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    description = fields.TextField(default="")
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "season"


class TaskStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class GrowthTask(Model):
    """A growth task defined by marketers."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    event_type = fields.CharField(max_length=32)
    condition = fields.CharEnumField(Condition, max_length=16, description=_ENUM)
    target = fields.IntField()
    window = fields.CharEnumField(Window, max_length=16, description=_ENUM)
    per_window_limit = fields.IntField(null=True, default=1)
    cap = fields.IntField(null=True)
    min_tier_rank = fields.SmallIntField(null=True)
    max_tier_rank = fields.SmallIntField(null=True)
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    season: fields.ForeignKeyNullableRelation[Season] = fields.ForeignKeyField(
        "laurel.Season", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    reward_points = fields.IntField(default=0)
    reward_growth = fields.IntField(default=0)
    reward_badge = fields.CharField(max_length=64, null=True)
    status = fields.CharEnumField(
        TaskStatus, max_length=16, default=TaskStatus.ACTIVE, description=_ENUM
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    season_id: int | None

    class Meta:
        table = "growth_task"
        indexes = (("event_type", "status"),)

    def to_rule(self) -> TaskRule:
        """The task as the engine reads it (the season must be fetched with it)."""
        season = self.season
        return TaskRule(
            id=self.id,
            code=self.code,
            name=self.name,
            event_type=self.event_type,
            condition=self.condition,
            target=self.target,
            window=self.window,
            per_window_limit=self.per_window_limit,
            cap=self.cap,
            min_tier_rank=self.min_tier_rank,
            max_tier_rank=self.max_tier_rank,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            season=SeasonSpan(season.id, season.starts_at, season.ends_at) if season else None,
            reward_points=self.reward_points,
            reward_growth=self.reward_growth,
            reward_badge=self.reward_badge,
        )


class TaskProgressRow(Model):
    """Progress of one member on one task in one window."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    task: fields.ForeignKeyRelation[GrowthTask] = fields.ForeignKeyField(
        "laurel.GrowthTask", related_name=False, on_delete=fields.RESTRICT
    )
    window_key = fields.CharField(max_length=32)
    count = fields.IntField(default=0)
    total = fields.DecimalField(max_digits=16, decimal_places=2, default=0)
    days = fields.IntField(default=0)
    streak = fields.IntField(default=0)
    last_day = fields.DateField(null=True)
    completions = fields.IntField(default=0)
    updated_at = fields.DatetimeField()

    member_id: int
    task_id: int

    class Meta:
        table = "task_progress"
        unique_together = (("member_id", "task_id", "window_key"),)

    def to_progress(self) -> TaskProgress:
        return TaskProgress(
            task_id=self.task_id,
            window_key=self.window_key,
            count=self.count,
            total=self.total,
            days=self.days,
            streak=self.streak,
            last_day=self.last_day,
            completions=self.completions,
        )


class TaskCompletion(Model):
    """One completion of a task by a member, with what it paid."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    task: fields.ForeignKeyRelation[GrowthTask] = fields.ForeignKeyField(
        "laurel.GrowthTask", related_name=False, on_delete=fields.RESTRICT
    )
    window_key = fields.CharField(max_length=32)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "laurel.Event", related_name=False, on_delete=fields.RESTRICT
    )
    points = fields.BigIntField()
    growth = fields.BigIntField()
    completed_at = fields.DatetimeField()

    member_id: int
    task_id: int

    class Meta:
        table = "task_completion"
        indexes = (("member_id", "task_id"),)


class Badge(Model):
    """A badge and the thresholds of its levels."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField(default="")
    metric = fields.CharEnumField(BadgeMetric, max_length=32, description=_ENUM)
    subject = fields.CharField(max_length=64, null=True)
    thresholds: fields.JSONField[list[int]] = fields.JSONField(default=list)
    hidden = fields.BooleanField(default=False)

    class Meta:
        table = "badge"

    def to_rule(self) -> BadgeRule:
        return BadgeRule(
            code=self.code,
            name=self.name,
            metric=self.metric,
            thresholds=tuple(int(t) for t in self.thresholds),
            subject=self.subject,
            hidden=self.hidden,
        )


class MemberBadge(Model):
    """A level of a badge that a member earned."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "laurel.Badge", related_name=False, on_delete=fields.RESTRICT
    )
    level = fields.SmallIntField()
    earned_at = fields.DatetimeField()

    member_id: int
    badge_id: int

    class Meta:
        table = "member_badge"
        unique_together = (("member_id", "badge_id", "level"),)


class MemberFact(Model):
    """A running count about a member that badges and tier requirements read."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=100)
    value = fields.BigIntField()

    member_id: int

    class Meta:
        table = "member_fact"
        unique_together = (("member_id", "key"),)


class MemberActiveDay(Model):
    """A programme-local day on which a member was active (growth counts it once)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    day = fields.DateField()

    member_id: int

    class Meta:
        table = "member_active_day"
        unique_together = (("member_id", "day"),)
