"""Engagement analytics, computed by the database: growth-task funnels and the uptake of
seasonal benefits per season, benefit and tier.

The funnel's tiers in the past come from the tier-change history without replaying it: the
tier a member held at an instant is the tier their first move after it left (``from_tier``), or
their current tier when they have not moved since. So only the moves after the instant
are read (``tier_change (changed_at)``, then ``(member_id, changed_at)``), never a
member's whole history; a member with no history (bulk-loaded) counts with its current
tier from the day it joined.

Indexes each statement needs (created by migration 0013): ``task_progress (task_id,
member_id)``, ``task_completion (task_id, member_id)`` and ``benefit_grant (source,
source_ref, benefit_id)``; ``tier_change_history (member_id, changed_at, id,
from_tier_id, ...)`` (0016) for the tiers at the tasks' starts; the partial
``task_progress_started (task_id, member_id)`` (0017) for the members who started; the
other tier-change ones exist since 0001. Uptake reads the tier each grant was made for from
the grant itself (``tier_code``, 0019).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from app.db import connection, sql, utc, values_list
from app.models import Benefit, GrowthTask, Season
from app.services.ladder import tiers_in_force
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
      schedule up to now (the tier at its start, or one a move during it took them to),
      plus any member who started it without (a back-dated event, an audience edited
      later), so that eligible >= started >= completed always holds;
    - started: members with progress counted on the task or a completion;
    - completed: members with at least one completion; completions: all of them.

    Six grouped statements (two for the tiers at the starts, one for the members outside
    the audience at the start, three for progress), whatever the number of tasks and members.
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
    held = await _held_at_starts(conn, spans, now=now)
    outside = await _eligible_outside_start(conn, spans)
    progress = await _progress(conn, [s.task.id for s in spans])
    result = []
    for s in spans:
        at_start = held.get(s.starts_at, {}) if s.starts_at is not None else {}
        in_audience = sum(n for rank, n in at_start.items() if s.low <= rank <= s.high)
        started, completed, completions = progress.get(s.task.id, (0, 0, 0))
        result.append(
            TaskFunnel(
                task_id=s.task.id,
                code=s.task.code,
                name=s.task.name,
                season_id=s.task.season_id,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                eligible=in_audience + outside.get(s.task.id, 0),
                started=started,
                completed=completed,
                completions=completions,
            )
        )
    return result


def _first_at_or_after(
    conn: BaseDBAsyncClient, column: str, instants: Sequence[datetime]
) -> tuple[str, list[object]]:
    """SQL for the index of the first of the sorted ``instants`` at or after ``column``
    (``len(instants)`` when none is), and its parameters."""
    mark = "?::timestamptz" if conn.capabilities.dialect == "postgres" else "?"
    whens = " ".join(f"WHEN {column} <= {mark} THEN {k}" for k in range(len(instants)))
    return f"CASE {whens} ELSE {len(instants)} END", list(instants)


async def _held_at_starts(
    conn: BaseDBAsyncClient, spans: list[_Span], *, now: datetime
) -> dict[datetime, dict[int, int]]:
    """Members per tier rank at each distinct start (of the tasks that have started).

    Each move is the first after the starts from its member's previous move (or from the
    beginning) up to the move itself, a contiguous run of the sorted starts: one pass over
    the moves after the first start, grouped by that run and the tier the move left, counts
    the members who moved after each start. One pass over the members, grouped by their
    tier and the first start they held it at (joined by then, no move after it), counts
    the others. The runs are expanded here: a few hundred rows at most.
    """
    starts = sorted({s.starts_at for s in spans if s.starts_at is not None and s.starts_at < now})
    if not starts:
        return {}
    last = len(starts) - 1
    lo, lo_params = _first_at_or_after(conn, "c.prev_at", starts)
    hi, hi_params = _first_at_or_after(conn, "c.changed_at", starts)
    moved = await conn.execute_query_dict(
        sql(
            conn,
            # A move is the first after start k when its previous move is at or before it.
            f"SELECT CASE WHEN c.prev_at IS NULL THEN 0 ELSE {lo} END AS k_from, "
            f"{hi} - 1 AS k_to, t.rank AS rank, count(*) AS n FROM ("
            "  SELECT from_tier_id, changed_at, LAG(changed_at) OVER ("
            "    PARTITION BY member_id ORDER BY changed_at, id) AS prev_at "
            "  FROM tier_change WHERE changed_at > ?"
            ") c JOIN tier t ON t.id = c.from_tier_id GROUP BY 1, 2, t.rank",
        ),
        [*lo_params, *hi_params, starts[0]],
    )
    joined, joined_params = _first_at_or_after(conn, "m.joined_at", starts)
    since, since_params = _first_at_or_after(conn, "l.at", starts)
    stayed = await conn.execute_query_dict(
        sql(
            conn,
            # Held from the first start at or after both the joining and the last move.
            f"SELECT {joined} AS k_joined, CASE WHEN l.at IS NULL THEN 0 ELSE {since} END "
            "AS k_moved, t.rank AS rank, count(*) AS n "
            "FROM member m JOIN tier t ON t.id = m.tier_id "
            "LEFT JOIN (SELECT member_id, max(changed_at) AS at FROM tier_change "
            "  WHERE changed_at > ? GROUP BY member_id) l ON l.member_id = m.id "
            "GROUP BY 1, 2, t.rank",
        ),
        [*joined_params, *since_params, starts[0]],
    )
    for r in stayed:
        r["k_from"], r["k_to"] = max(int(r["k_joined"]), int(r["k_moved"])), last
    found: dict[datetime, dict[int, int]] = {s: {} for s in starts}
    for r in [*moved, *stayed]:
        rank, n = int(r["rank"]), int(r["n"])
        for k in range(int(r["k_from"]), min(last, int(r["k_to"])) + 1):
            found[starts[k]][rank] = found[starts[k]].get(rank, 0) + n
    return found


async def _eligible_outside_start(conn: BaseDBAsyncClient, spans: list[_Span]) -> dict[int, int]:
    """Per task, members not in its audience at its start who joined the audience during
    its schedule, progressed on it or completed it."""
    rows_of_t = [(s.task.id, s.starts_at, s.ends_at, s.low, s.high) for s in spans]
    tasks, params = values_list(
        conn, rows_of_t, ("integer", "timestamptz", "timestamptz", "integer", "integer")
    )
    rows = await conn.execute_query_dict(
        sql(
            conn,
            f"WITH t(id, s, e, lo, hi) AS ({tasks}), "
            # Each move with its member's previous move: the first move after a start is
            # the one whose previous move is at or before it (as in _held_at_starts).
            "moves AS (SELECT member_id, changed_at, from_tier_id, LAG(changed_at) OVER ("
            "  PARTITION BY member_id ORDER BY changed_at, id) AS prev_at FROM tier_change), "
            "x AS ("
            "  SELECT t.id AS task_id, tc.member_id AS member_id FROM t "
            "  JOIN tier_change tc ON (t.s IS NULL OR tc.changed_at > t.s) AND tc.changed_at < t.e "
            "  JOIN tier r ON r.id = tc.to_tier_id WHERE r.rank >= t.lo AND r.rank <= t.hi "
            "  UNION "
            "  SELECT p.task_id, p.member_id FROM task_progress p JOIN t ON t.id = p.task_id "
            "  WHERE p.count > 0 OR p.total > 0 OR p.days > 0 OR p.completions > 0 "
            "  UNION "
            "  SELECT c.task_id, c.member_id FROM task_completion c JOIN t ON t.id = c.task_id) "
            "SELECT x.task_id AS task_id, count(*) AS n "
            "FROM x JOIN t ON t.id = x.task_id JOIN member m ON m.id = x.member_id "
            # The tier held at the start (none: not yet a member, or no start).
            "LEFT JOIN moves f ON f.member_id = x.member_id AND f.changed_at > t.s "
            "  AND (f.prev_at IS NULL OR f.prev_at <= t.s) "
            "LEFT JOIN tier h ON h.id = CASE WHEN f.member_id IS NOT NULL THEN f.from_tier_id "
            "  WHEN m.joined_at <= t.s THEN m.tier_id END "
            "WHERE h.id IS NULL OR h.rank < t.lo OR h.rank > t.hi "
            "GROUP BY x.task_id",
        ),
        params,
    )
    return {int(r["task_id"]): int(r["n"]) for r in rows}


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
    rows.sort(key=lambda r: (by_ref[r["ref"]].id, int(r["benefit_id"]), r["tier"] is None,
                             rank.get(r["tier"] or "", len(rank)), r["tier"] or ""))  # fmt: skip
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
