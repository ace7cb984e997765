"""The growth tasks a member can still do, with the progress made in each window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from app.models import GrowthTask, MemberFact, TaskProgressRow, TaskStatus
from gamification.shared.calendar import WindowSpan, window_for
from gamification.tasks import TaskProgress, TaskRule


@dataclass(frozen=True, slots=True)
class TaskView:
    rule: TaskRule
    description: str
    progress: Decimal
    window_ends_at: datetime | None
    completions_in_window: int
    remaining_cap: int | None
    completed: bool = False  # done for now: its cap or its window's limit is reached


class MemberRank(NamedTuple):
    """A member and the rank of the tier it holds (a task's audience is a range of ranks)."""

    member_id: int
    tier_rank: int


async def available_tasks_by_member(
    *, members: Iterable[MemberRank], now: datetime, zone: ZoneInfo
) -> dict[MemberRank, list[TaskView]]:
    """Active tasks running now for each member, with progress in the current window; those
    the member cannot complete again (cap or window limit reached) are marked completed.

    Three statements, however many members there are: the active tasks with their
    seasons, the members' ``task:`` facts (completions, which caps count) and their
    progress rows in the running tasks' current windows.
    """
    keys = set(members)
    tasks = (
        await GrowthTask.filter(status=TaskStatus.ACTIVE).select_related("season").order_by("id")
    )
    # A task's current window is the same for every member: work it out once.
    running = []
    for task in tasks:
        rule = task.to_rule()
        if not rule.is_scheduled_at(now):
            continue
        span = window_for(rule.window, now, zone=zone, season=rule.season)
        if span is not None:
            running.append((rule, task.description, span))
    if not running or not keys:
        return {key: [] for key in keys}
    member_ids = {key.member_id for key in keys}
    completed: dict[int, dict[str, int]] = {m: {} for m in member_ids}
    for fact in await MemberFact.filter(member_id__in=member_ids, key__startswith="task:"):
        completed[fact.member_id][fact.key] = fact.value
    candidates: dict[MemberRank, list[tuple[TaskRule, str, WindowSpan, int]]] = {}
    for key in keys:
        facts = completed[key.member_id]
        candidates[key] = []
        for rule, description, span in running:
            done = facts.get(f"task:{rule.code}", 0)
            if rule.admits_tier(key.tier_rank):
                candidates[key].append((rule, description, span, done))
    wanted = [c for found in candidates.values() for c in found]
    rows = (
        await TaskProgressRow.filter(
            member_id__in=member_ids,
            task_id__in={c[0].id for c in wanted},
            window_key__in={c[2].key for c in wanted},
        )
        if wanted
        else []
    )
    by_key = {(r.member_id, r.task_id, r.window_key): r for r in rows}
    return {key: _task_views(key.member_id, candidates[key], by_key) for key in candidates}


def _task_views(
    member_id: int,
    candidates: list[tuple[TaskRule, str, WindowSpan, int]],
    rows: dict[tuple[int, int, str], TaskProgressRow],
) -> list[TaskView]:
    views = []
    for rule, description, span, done in candidates:
        row = rows.get((member_id, rule.id, span.key))
        state = row.to_progress() if row is not None else TaskProgress(rule.id, span.key)
        capped = rule.cap is not None and done >= rule.cap
        limited = rule.per_window_limit is not None and state.completions >= rule.per_window_limit
        views.append(
            TaskView(
                rule=rule,
                description=description,
                progress=state.measure(rule.condition),
                window_ends_at=span.ends_at,
                completions_in_window=state.completions,
                remaining_cap=None if rule.cap is None else max(0, rule.cap - done),
                completed=capped or limited,
            )
        )
    return views
