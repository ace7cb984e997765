"""Engagement analytics, computed by the database: growth-task funnels and the uptake of
seasonal benefits per season, benefit and tier.

A funnel's eligible members come from the tier history alone: the changes that cross an
audience's edge, each with its member's crossings before and after it (a window over the
history in member order, index-only on ``tier_change_history``, migration 0016). Every
member has a history from enrolment (enrolling writes its first change), so a member
with no change at all is in no audience.

Indexes each statement needs: ``task_progress (task_id, member_id)``, ``task_completion
(task_id, member_id)`` and ``benefit_grant (source, source_ref, benefit_id)`` (0013); the
partial ``task_progress_started (task_id, member_id)`` (0017) for the members who started.
Uptake reads the tier each grant was made for from the grant itself (``tier_code``, 0019).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from app.db import connection, sql, utc
from app.models import Benefit, GrowthTask, Season, Tier
from app.services.tiers.ladder import tiers_in_force
from gamification.benefits import GrantSource, GrantStatus

# Ranks are small integers from 0; an open end of a task's audience is one of these.
LOWEST_RANK = -1
HIGHEST_RANK = 32_767


@dataclass(frozen=True, slots=True)
class TaskFunnel:
    task_id: int
    code: str
    name: str
    season_id: int | None
    # The span the funnel covers: the task's schedule (within its season), up to now.
    starts_at: datetime | None
    ends_at: datetime
    eligible: int
    started: int
    completed: int
    completions: int


@dataclass(frozen=True, slots=True)
class BenefitUptake:
    season_id: int
    season_code: str
    benefit_id: int
    benefit_code: str
    tier_code: str | None
    granted: int
    used: int
    expired: int
    active: int


@dataclass(frozen=True, slots=True)
class _Span:
    task: GrowthTask
    starts_at: datetime | None
    ends_at: datetime
    low: int
    high: int


def _span(task: GrowthTask, *, now: datetime) -> _Span:
    """The task's schedule within its season, cut at ``now``, and its audience's ranks."""
    season = task.season
    starts = [a for a in (task.starts_at, season.starts_at if season else None) if a]
    ends = [a for a in (task.ends_at, season.ends_at if season else None) if a]
    return _Span(
        task=task,
        starts_at=utc(max(starts)) if starts else None,
        ends_at=utc(min([*ends, now])),
        low=task.min_tier_rank if task.min_tier_rank is not None else LOWEST_RANK,
        high=task.max_tier_rank if task.max_tier_rank is not None else HIGHEST_RANK,
    )


async def task_funnel(
    *, now: datetime, season_id: int | None = None, task_id: int | None = None
) -> list[TaskFunnel]:
    """Per task (of a season, or one task; all tasks without filters), in task id order:

    - eligible: members who held a tier of the task's audience at some moment of its
      schedule up to now, by the tier history (the tier at its start, or one a tier change
      during it took them to);
    - started: members with progress counted on the task or a completion;
    - completed: members with at least one completion; completions: all of them.

    One statement per distinct audience for eligibility and three for progress, whatever
    the number of tasks and members; they run side by side on PostgreSQL's pool.
    """
    query = GrowthTask.all().select_related("season").order_by("id")
    if season_id is not None:
        query = query.filter(season_id=season_id)
    if task_id is not None:
        query = query.filter(id=task_id)
    spans = [_span(task, now=now) for task in await query]
    if not spans:
        return []
    conn = connection()
    eligible, progress = await asyncio.gather(
        _eligible(conn, spans), _progress(conn, [s.task.id for s in spans])
    )
    result = []
    for s in spans:
        started, completed, completions = progress.get(s.task.id, (0, 0, 0))
        result.append(
            TaskFunnel(
                task_id=s.task.id,
                code=s.task.code,
                name=s.task.name,
                season_id=s.task.season_id,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                eligible=eligible.get(s.task.id, 0),
                started=started,
                completed=completed,
                completions=completions,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class _Runs:
    """Runs in an audience, grouped by where their ends fall among the sorted boundaries
    B (the tasks' starts and ends): ``at`` is the run's start (the change that brought the
    member into the audience), ``prev`` the end of the member's run before it, ``next``
    this run's end (None: open). ``below(x)`` is the number of boundaries before x, so
    ``x <= B[i]`` exactly when ``below(x) <= i``; ``on_boundary`` tells whether ``at`` is
    one of them (``at < B[j]`` exactly when ``below(at) + on_boundary <= j``)."""

    at_below: int
    on_boundary: bool
    prev_below: int | None
    next_below: int | None
    members: int

    def count_in(self, start: int | None, end: int) -> bool:
        """Whether this is the member's first run overlapping [B[start], B[end])
        (from the beginning of time when ``start`` is None)."""
        if self.at_below + self.on_boundary > end:  # the run starts at or after the end
            return False
        if start is None:
            return self.prev_below is None  # the member's first run ever
        if self.at_below <= start:  # started by the start: still running at it?
            return self.next_below is None or self.next_below > start
        # Started during the span: the first one there unless the member was in then.
        return self.prev_below is None or self.prev_below <= start


async def _eligible(conn: BaseDBAsyncClient, spans: list[_Span]) -> dict[int, int]:
    """Per task that has started, the members in its audience at some moment of its span.

    The tier history is cut, per audience, into runs: the changes that cross the
    audience's edge (a change's from-tier and to-tier on either side of it; an enrolment
    comes from outside), each with its member's crossings before and after (one window
    over the crossings in member order, read index-only from ``tier_change_history``). A
    member was in the audience during [s, e) exactly when one of its runs overlaps it, and
    runs of a member never overlap, so counting each member's *first* overlapping run
    (the one whose previous run ended by s) counts members without a DISTINCT. The runs
    are grouped by where their instants fall among the spans' boundaries, so one small
    result serves every task of that audience.
    """
    live = [s for s in spans if s.starts_at is None or s.starts_at < s.ends_at]
    if not live:
        return {}
    boundaries = sorted(
        {s.starts_at for s in live if s.starts_at is not None} | {s.ends_at for s in live}
    )
    ranks = await Tier.all().values_list("id", "rank")
    audiences = sorted({(s.low, s.high) for s in live})
    members = {
        (low, high): [tid for tid, rank in ranks if low <= rank <= high] for low, high in audiences
    }
    found = await asyncio.gather(*(_runs(conn, members[a], boundaries) for a in audiences))
    runs = dict(zip(audiences, found, strict=True))
    place = {at: k for k, at in enumerate(boundaries)}
    return {
        s.task.id: sum(
            r.members
            for r in runs[(s.low, s.high)]
            if r.count_in(None if s.starts_at is None else place[s.starts_at], place[s.ends_at])
        )
        for s in live
    }


def _below(
    conn: BaseDBAsyncClient, column: str, boundaries: Sequence[datetime]
) -> tuple[str, list[object]]:
    """SQL for the number of ``boundaries`` (sorted) before ``column``, and its parameters:
    a binary search on PostgreSQL (``width_bucket`` counts those at or before; timestamps
    are whole microseconds), a CASE on SQLite."""
    if conn.capabilities.dialect == "postgres":
        return f"width_bucket({column} - interval '1 microsecond', ?::timestamptz[])", [
            list(boundaries)
        ]
    whens = " ".join(f"WHEN {column} <= ? THEN {k}" for k in range(len(boundaries)))
    return f"CASE {whens} ELSE {len(boundaries)} END", list(boundaries)


async def _runs(
    conn: BaseDBAsyncClient, tier_ids: list[int], boundaries: list[datetime]
) -> list[_Runs]:
    if not tier_ids:
        return []
    inside = ", ".join(str(int(t)) for t in tier_ids)
    at, at_params = _below(conn, "c.at", boundaries)
    prev, prev_params = _below(conn, "c.prev_at", boundaries)
    nxt, next_params = _below(conn, "c.next_at", boundaries)
    mark = "?::timestamptz" if conn.capabilities.dialect == "postgres" else "?"
    on = ", ".join(mark for _ in boundaries)
    rows = await conn.execute_query_dict(
        sql(
            conn,
            f"SELECT {at} AS at_below, CASE WHEN c.at IN ({on}) THEN 1 ELSE 0 END AS on_b, "
            f"CASE WHEN c.prev_at IS NULL THEN -1 ELSE {prev} END AS prev_below, "
            f"CASE WHEN c.next_at IS NULL THEN -1 ELSE {nxt} END AS next_below, "
            "count(*) AS n FROM ("
            f"  SELECT changed_at AS at, to_tier_id IN ({inside}) AS entry, "
            "   LAG(changed_at) OVER w AS prev_at, LEAD(changed_at) OVER w AS next_at "
            "  FROM tier_change "
            # A crossing: the two sides of the change are on either side of the edge.
            f"  WHERE (to_tier_id IN ({inside})) <> COALESCE(from_tier_id IN ({inside}), 1 = 0) "
            "  WINDOW w AS (PARTITION BY member_id ORDER BY changed_at, id)"
            ") c WHERE c.entry GROUP BY 1, 2, 3, 4",
        ),
        [*at_params, *boundaries, *prev_params, *next_params],
    )
    return [
        _Runs(
            at_below=int(r["at_below"]),
            on_boundary=bool(int(r["on_b"])),
            prev_below=None if int(r["prev_below"]) < 0 else int(r["prev_below"]),
            next_below=None if int(r["next_below"]) < 0 else int(r["next_below"]),
            members=int(r["n"]),
        )
        for r in rows
    ]


async def _progress(
    conn: BaseDBAsyncClient, task_ids: list[int]
) -> dict[int, tuple[int, int, int]]:
    """Per task: members who started, members who completed, completions.

    Started = members with counted progress + completers without it: three grouped
    statements, each read from an index in (task, member) order (0013, and 0017's partial
    index of the counted progress rows), not one grouping of every row by member."""
    marks = ", ".join("?" for _ in task_ids)
    counted = "(p.count > 0 OR p.total > 0 OR p.days > 0 OR p.completions > 0)"
    progressed = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT task_id, count(*) AS n FROM (SELECT DISTINCT p.task_id, p.member_id "
            f"FROM task_progress p WHERE p.task_id IN ({marks}) AND {counted}) d GROUP BY task_id",
        ),
        list(task_ids),
    )
    done = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT task_id, count(DISTINCT member_id) AS completed, count(*) AS completions "
            f"FROM task_completion WHERE task_id IN ({marks}) GROUP BY task_id",
        ),
        list(task_ids),
    )
    only_done = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT c.task_id AS task_id, count(DISTINCT c.member_id) AS n "
            f"FROM task_completion c WHERE c.task_id IN ({marks}) AND NOT EXISTS ("
            "  SELECT 1 FROM task_progress p WHERE p.task_id = c.task_id "
            f"  AND p.member_id = c.member_id AND {counted}) GROUP BY c.task_id",
        ),
        list(task_ids),
    )
    found = {int(r["task_id"]): [int(r["n"]), 0, 0] for r in progressed}
    for r in done:
        row = found.setdefault(int(r["task_id"]), [0, 0, 0])
        row[1], row[2] = int(r["completed"]), int(r["completions"])
    for r in only_done:
        found[int(r["task_id"])][0] += int(r["n"])
    return {k: (v[0], v[1], v[2]) for k, v in found.items()}


async def seasonal_benefit_uptake(
    *, now: datetime, season_id: int | None = None
) -> list[BenefitUptake]:
    """Seasonal grants per season, benefit and tier: granted, used, expired and active.

    The tier is the one the grant was made for (``benefit_grant.tier_code``: the member's
    tier when the season switched on, or the tier a promotion mid-season brought them
    to), whatever the member holds later. Expired counts grants the season job expired and
    those still marked active past their validity (the job has not run yet); active ones
    may still be used. One grouped statement over the seasonal grants, no tier history.
    """
    query = Season.all().order_by("id")
    if season_id is not None:
        query = query.filter(id=season_id)
    seasons = await query
    if not seasons:
        return []
    conn = connection()
    at = utc(now)
    refs = [str(s.id) for s in seasons]
    marks = ", ".join("?" for _ in refs)
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT g.source_ref AS ref, g.benefit_id AS benefit_id, g.tier_code AS tier, "
            "count(*) AS granted, "
            "SUM(CASE WHEN g.status = ? THEN 1 ELSE 0 END) AS used, "
            "SUM(CASE WHEN g.status = ? OR (g.status = ? AND g.valid_to <= ?) "
            "  THEN 1 ELSE 0 END) AS expired, "
            "SUM(CASE WHEN g.status = ? AND (g.valid_to IS NULL OR g.valid_to > ?) "
            "  THEN 1 ELSE 0 END) AS active "
            f"FROM benefit_grant g WHERE g.source = ? AND g.source_ref IN ({marks}) "
            "GROUP BY g.source_ref, g.benefit_id, g.tier_code",
        ),
        [
            GrantStatus.USED.value,
            GrantStatus.EXPIRED.value,
            GrantStatus.ACTIVE.value,
            at,
            GrantStatus.ACTIVE.value,
            at,
            GrantSource.SEASON.value,
            *refs,
        ],
    )
    by_ref = {str(s.id): s for s in seasons}
    codes = await _benefit_codes({int(r["benefit_id"]) for r in rows})
    # Tiers in ladder order (codes outlive ladder versions: the ladder in force now, then
    # any code it no longer has) within a benefit; grants without a tier last.
    rank = {t.code: t.rank for t in await tiers_in_force(now=now)}
    rows.sort(
        key=lambda r: (
            by_ref[r["ref"]].id,
            int(r["benefit_id"]),
            r["tier"] is None,
            rank.get(r["tier"] or "", len(rank)),
            r["tier"] or "",
        )
    )
    return [
        BenefitUptake(
            season_id=by_ref[r["ref"]].id,
            season_code=by_ref[r["ref"]].code,
            benefit_id=int(r["benefit_id"]),
            benefit_code=codes[int(r["benefit_id"])],
            tier_code=r["tier"],
            granted=int(r["granted"]),
            used=int(r["used"]),
            expired=int(r["expired"]),
            active=int(r["active"]),
        )
        for r in rows
    ]


async def _benefit_codes(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(await Benefit.filter(id__in=ids).values_list("id", "code"))
