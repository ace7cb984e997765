"""The points flow rollup: the ledger added up per UTC quarter hour and kind, so that
points flow over months reads thousands of rows instead of millions.

A *slot* is a UTC quarter hour, numbered epoch seconds // 900 (an integer: both dialects
compare it alike; no timestamp text is compared on SQLite). ``points_flow_rollup`` holds,
per slot and ledger kind, ``credited`` (sum of positive deltas), ``net`` (sum of deltas)
and ``entries``; ``points_flow_fold.folded_until`` says every slot below it is folded and
none from it on. Readers (``app.services.analytics.reports.points_flow``) take the rollup below
that boundary and the ledger from it on.

The fold only takes *settled* slots, those that ended at least SETTLE before now, and
each time it moves the boundary it folds again the last REFOLD of slots already folded
(DELETE their rows, one grouped INSERT ... SELECT from the ledger, move the boundary: one
transaction). It relies on this invariant of the ledger:

    a ledger row is committed less than SETTLE after its ``created_at`` (for readers to be
    exact at every moment), and in any case less than REFOLD after it (for the rollup to
    count it at all).

``created_at`` is stamped by Tortoise's auto_now_add when the row is written, inside the
transaction that commits it a moment later; ``point_expiry`` (app/services/points/expiry.py)
stamps the job's ``now`` on the rows of every batch, so its batches commit up to the job's
duration after their ``created_at`` (minutes at a million members). A row committed later
than SETTLE but within REFOLD after its ``created_at`` is missing from reports only until
the next fold (at most a quarter of an hour, when the next slot settles); one inserted
with a ``created_at`` more than REFOLD old (a back-dated import) is never counted: clear
the rollup (``DELETE FROM points_flow_fold``) and the next fold rebuilds it.

The first fold backfills all history from the ledger's first row, CHUNK_SLOTS per
transaction, calling ``heartbeat`` after each. Concurrent folds (a long backfill and the
next minute's run) take turns on the fold row's lock; each transaction reads the boundary
again under it, so they never fold a slot twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.db import connection, sql

SLOT_SECONDS = 900
SETTLE = timedelta(hours=1)
REFOLD = timedelta(hours=24)
CHUNK = timedelta(days=30)
REFOLD_SLOTS = int(REFOLD.total_seconds()) // SLOT_SECONDS
CHUNK_SLOTS = int(CHUNK.total_seconds()) // SLOT_SECONDS


def slot_of(at: datetime) -> int:
    """The slot ``at`` falls in."""
    return int(at.timestamp()) // SLOT_SECONDS


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


def settled_until(now: datetime) -> int:
    """The first slot not settled at ``now``: every slot below it ended SETTLE ago or more."""
    return slot_of(now - SETTLE)


def slot_sql(conn: BaseDBAsyncClient, column: str) -> str:
    """The slot of a ``created_at`` column, in SQL.

    PostgreSQL: the exact epoch (numeric) over 900, floored. SQLite stores the timestamp
    as UTC text (``2026-01-01 02:14:59.999700+00:00``): its first 19 characters, to the
    second, because strftime rounds the fraction to milliseconds (59.9997 s would become
    the next minute, and the next slot, while the ledger's text comparisons keep it in
    this one).
    """
    if conn.capabilities.dialect == "postgres":
        return f"CAST(floor(extract(epoch FROM {column}) / {SLOT_SECONDS}) AS BIGINT)"
    return f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / {SLOT_SECONDS})"


async def folded_until() -> int | None:
    """The rollup's boundary: slots below it are folded (None: never folded)."""
    rows = await connection().execute_query_dict(
        "SELECT folded_until FROM points_flow_fold WHERE id = 1"
    )
    return int(rows[0]["folded_until"]) if rows else None


async def _lock_boundary(conn: BaseDBAsyncClient, *, now: datetime) -> int:
    """The boundary, read under the fold row's lock (SQLite: the write lock), creating the
    row at the ledger's first slot (or the settled one, for an empty ledger) on the first
    fold."""
    lock = (
        "UPDATE points_flow_fold SET folded_until = folded_until WHERE id = 1 "
        "RETURNING folded_until"
    )
    rows = await conn.execute_query_dict(lock)
    if rows:
        return int(rows[0]["folded_until"])
    first = await conn.execute_query_dict(
        f"SELECT {slot_sql(conn, 'created_at')} AS slot FROM points_ledger "
        "ORDER BY created_at LIMIT 1"
    )
    # Never beyond the settled slots: a row stamped in the future (a job given a later
    # ``now``) must not move the boundary past slots still to come.
    start = settled_until(now)
    if first:
        start = min(start, int(first[0]["slot"]))
    await conn.execute_query(
        sql(
            conn,
            "INSERT INTO points_flow_fold (id, folded_until, folded_at) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
        ),
        [start, now],
    )
    rows = await conn.execute_query_dict(lock)
    return int(rows[0]["folded_until"])


async def fold_points_flow(
    *, now: datetime, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> dict[str, int]:
    """Fold the slots settled at ``now`` into the rollup, and fold the last REFOLD of
    folded slots again. Nothing when no slot settled since the last fold. Returns the
    boundary, the slots folded for the first time and the ledger rows read."""
    target = settled_until(now)
    boundary = await folded_until()
    if boundary is not None and boundary >= target:
        return {"folded_until": boundary, "slots": 0, "entries": 0}  # without a write
    first_pass = True
    slots = entries = 0
    while True:
        async with in_transaction() as conn:
            boundary = await _lock_boundary(conn, now=now)
            if boundary >= target:
                break
            upto = min(boundary + CHUNK_SLOTS, target)
            # Late-committed rows are looked for once per run, before the new slots.
            start = boundary - REFOLD_SLOTS if first_pass else boundary
            await conn.execute_query(
                sql(conn, "DELETE FROM points_flow_rollup WHERE slot >= ? AND slot < ?"),
                [start, upto],
            )
            added = await conn.execute_query_dict(
                sql(
                    conn,
                    "INSERT INTO points_flow_rollup (slot, kind, credited, net, entries) "
                    f"SELECT {slot_sql(conn, 'l.created_at')}, l.kind, "
                    "SUM(CASE WHEN l.delta > 0 THEN l.delta ELSE 0 END), SUM(l.delta), COUNT(*) "
                    "FROM points_ledger l WHERE l.created_at >= ? AND l.created_at < ? "
                    "GROUP BY 1, 2 RETURNING entries",
                ),
                # Compared as UTC: SQLite compares the stored UTC text.
                [slot_start(start), slot_start(upto)],
            )
            await conn.execute_query(
                sql(
                    conn, "UPDATE points_flow_fold SET folded_until = ?, folded_at = ? WHERE id = 1"
                ),
                [upto, now],
            )
        first_pass = False
        slots += upto - boundary
        entries += sum(int(r["entries"]) for r in added)
        if heartbeat is not None:
            await heartbeat()
    return {"folded_until": boundary, "slots": slots, "entries": entries}
