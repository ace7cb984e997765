"""What a member reads about their own progress: tasks, badges, tier status, inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.models import (
    Badge,
    GrowthTask,
    MemberBadge,
    MemberFact,
    Notification,
    TaskProgressRow,
    TaskStatus,
)
from gamification.badges import BadgeProgress, badge_progress
from gamification.calendar import window_for
from gamification.tasks import TaskProgress, TaskRule


@dataclass(frozen=True, slots=True)
class TaskView:
    rule: TaskRule
    description: str
    progress: Decimal
    window_ends_at: datetime | None
    completions_in_window: int
    remaining_cap: int | None


async def available_tasks(
    *, member_id: int, tier_rank: int, now: datetime, zone: ZoneInfo
) -> list[TaskView]:
    """Active tasks the member can still complete now, with progress in the current window."""
    tasks = (
        await GrowthTask.filter(status=TaskStatus.ACTIVE).select_related("season").order_by("id")
    )
    facts = {
        f.key: f.value
        for f in await MemberFact.filter(member_id=member_id, key__startswith="task:")
    }
    candidates = []
    for task in tasks:
        rule = task.to_rule()
        if not rule.is_scheduled_at(now) or not rule.admits_tier(tier_rank):
            continue
        done = facts.get(f"task:{rule.code}", 0)
        if rule.cap is not None and done >= rule.cap:
            continue
        span = window_for(rule.window, now, zone=zone, season=rule.season)
        if span is None:
            continue
        candidates.append((rule, task.description, span, done))
    rows = await TaskProgressRow.filter(
        member_id=member_id,
        task_id__in=[c[0].id for c in candidates],
        window_key__in={c[2].key for c in candidates},
    )
    by_key = {(r.task_id, r.window_key): r for r in rows}
    views = []
    for rule, description, span, done in candidates:
        row = by_key.get((rule.id, span.key))
        state = row.to_progress() if row is not None else TaskProgress(rule.id, span.key)
        if rule.per_window_limit is not None and state.completions >= rule.per_window_limit:
            continue
        views.append(
            TaskView(
                rule=rule,
                description=description,
                progress=state.measure(rule.condition),
                window_ends_at=span.ends_at,
                completions_in_window=state.completions,
                remaining_cap=None if rule.cap is None else rule.cap - done,
            )
        )
    return views


async def visible_badges(*, member_id: int, lifetime_points: int) -> list[BadgeProgress]:
    """Every badge that is not hidden, plus hidden ones the member has earned."""
    facts = {f.key: f.value for f in await MemberFact.filter(member_id=member_id)}
    facts.setdefault("lifetime_points", lifetime_points)
    held: dict[int, int] = {}
    for award in await MemberBadge.filter(member_id=member_id):
        held[award.badge_id] = max(held.get(award.badge_id, 0), award.level)
    result = []
    for badge in await Badge.all().order_by("id"):
        level = held.get(badge.id, 0)
        if badge.hidden and level == 0:
            continue
        result.append(badge_progress(badge.to_rule(), facts=facts, held_level=level))
    return result


async def notifications_page(
    *, member_id: int, first: int, before_id: int | None, unread_only: bool
) -> tuple[list[Notification], bool]:
    query = Notification.filter(member_id=member_id).order_by("-id")
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first
