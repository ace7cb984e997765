"""Leaderboard scores, the truth: moved in the transaction of the change that earned them.

Every event moves the member's score in each metric it touched, for all time, its local
day, week and month, and every season running when it happened; a reversal takes back
from the periods of the event it reverses. One multi-row upsert per change. The outbox
row of the change names the scores it moved, and its id is their ``reached_seq``: the
index learns of them from the relay and reads their values from here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from app.models import Season
from gamification.leaderboards import (
    ScoreChange,
    metric_deltas,
    periods_at,
    reached_second,
    scope_of,
    score_changes,
)
from gamification.shared.calendar import Season as CalendarSeason


async def running_seasons(conn: BaseDBAsyncClient, *, at: datetime) -> list[CalendarSeason]:
    """The seasons running at ``at`` (read once per event: its leaderboard periods and its
    seasonal multiplier both depend on them)."""
    running = await Season.filter(
        starts_at__lte=at, ends_at__gt=at, archived_at__isnull=True
    ).using_db(conn)
    return [CalendarSeason(id=s.id, starts_at=s.starts_at, ends_at=s.ends_at) for s in running]


def changes_for(
    *,
    seasons: list[CalendarSeason],
    at: datetime,
    zone: ZoneInfo,
    points: int,
    growth: int,
    tasks_completed: int,
) -> list[ScoreChange]:
    """The score changes of an outcome that happened at ``at`` (none when it moved
    nothing), given the seasons running then."""
    deltas = metric_deltas(points=points, growth=growth, tasks_completed=tasks_completed)
    if not deltas:
        return []
    return score_changes(deltas, periods_at(at, zone=zone, seasons=seasons))


def changed_keys(changes: list[ScoreChange]) -> list[list[str]]:
    """The (metric, period key) pairs of ``changes``, as an outbox payload names them."""
    return [[c.metric.value, c.period_key] for c in changes]


async def apply_changes(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    changes: list[ScoreChange],
    reached_at: datetime,
    seq: int,
) -> None:
    """Add ``changes`` to the member's scores in one statement (inside the caller's
    transaction, which holds the member's row lock, so no two run for one member at once)."""
    if not changes:
        return
    postgres = conn.capabilities.dialect == "postgres"
    rows = []
    params: list[object] = []
    for n, change in enumerate(changes):
        if postgres:
            base = n * 7
            rows.append("(" + ", ".join(f"${base + i}" for i in range(1, 8)) + ")")
        else:
            rows.append("(?, ?, ?, ?, ?, ?, ?)")
        params += [
            change.metric.value,
            change.period_key,
            scope_of(change.metric, change.period_key),
            member_id,
            change.delta,
            reached_second(reached_at),
            seq,
        ]
    await conn.execute_query(
        "INSERT INTO leaderboard_score "
        "(metric, period_key, scope, member_id, score, reached_at, reached_seq) "
        f"VALUES {', '.join(rows)} "
        "ON CONFLICT (metric, period_key, member_id) DO UPDATE SET "
        "score = leaderboard_score.score + excluded.score, "
        "reached_at = excluded.reached_at, reached_seq = excluded.reached_seq",
        params,
    )
