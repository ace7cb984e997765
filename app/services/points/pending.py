"""Pending points: what events of a type with a return window earned, held until the
window closes, then released into the ledger and the balance.

Release is set-based, one transaction per batch of due rows: the rows' members are locked
(PostgreSQL, in id order, as the event writer locks them, so the two never deadlock), the
rows flip from pending to released (``WHERE status = 'pending'``: a row is released once,
whoever runs the job, however often), the members' balances move by their grouped totals
(only the balances: lifetime points and leaderboard scores counted the points when the
event earned them, as a reversal inside the window takes them back from there),
and one ``INSERT … SELECT`` writes the ledger rows, their running balances computed by a
window function per member (idempotency key ``pending-<id>``: the ledger refuses a second
row for one release even if the status guard were bypassed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from app.dialect import Dialect, Statement
from app.models import OutboxMessage, PendingPoints, PendingStatus
from app.services.notifications.outbox import outbox_written
from gamification.points.ledger import LedgerKind, LedgerSource

BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Pending:
    """Points a member waits for: what, why, from which event, and when they come."""

    event_id: int
    points: int
    reason: str
    release_at: datetime


async def pending_points_of(member_id: int) -> list[Pending]:
    """The member's points still in a return window, the soonest released first."""
    return (await pending_points_by_member([member_id]))[member_id]


async def pending_points_by_member(member_ids: Sequence[int]) -> dict[int, list[Pending]]:
    """Each member's points still in a return window, the soonest released first: one
    query for a page of members."""
    found: dict[int, list[Pending]] = {member_id: [] for member_id in member_ids}
    rows = await PendingPoints.filter(
        member_id__in=set(member_ids), status=PendingStatus.PENDING, points__gt=0
    ).order_by("release_at", "id")
    for r in rows:
        found[r.member_id].append(Pending(r.event_id, r.points, r.reason, r.release_at))
    return found


async def release_pending_points(
    *, now: datetime, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> dict[str, int]:
    """Release every pending row due at ``now``; how many rows and points were released."""
    released = points = 0
    while True:
        async with in_transaction() as conn:
            d = Dialect(conn)
            due = await d.rows(
                conn,
                Statement(
                    "SELECT id, member_id FROM pending_points WHERE status = ? "
                    "AND release_at <= ? AND points > 0 ORDER BY id LIMIT ?",
                    [PendingStatus.PENDING.value, d.param(now), BATCH],
                ),
            )
            if not due:
                break
            if d.postgres:
                members = sorted({int(r["member_id"]) for r in due})
                of_members, params = d.any_of("id", members, "bigint")
                locking = f"SELECT id FROM member WHERE {of_members} ORDER BY id FOR UPDATE"
                await d.rows(conn, Statement(locking, params))
            of_due, due_params = d.any_of("id", [int(r["id"]) for r in due], "bigint")
            # A reversal may have cancelled some meanwhile: only what this UPDATE flips counts.
            flipped = await d.rows(
                conn,
                Statement(
                    "UPDATE pending_points SET status = ?, released_at = ? "
                    f"WHERE status = ? AND {of_due} RETURNING id, event_id, points",
                    [
                        PendingStatus.RELEASED.value,
                        d.param(now),
                        PendingStatus.PENDING.value,
                        *due_params,
                    ],
                ),
            )
            if flipped:
                of_rows, row_params = d.any_of("p.id", [int(r["id"]) for r in flipped], "bigint")
                await conn.execute_query(
                    d.numbered(
                        "UPDATE member SET points_balance = member.points_balance + t.total "
                        "FROM ("
                        "SELECT p.member_id, SUM(p.points) AS total FROM pending_points p "
                        f"WHERE {of_rows} GROUP BY p.member_id) AS t WHERE member.id = t.member_id"
                    ),
                    row_params,
                )
                # The balances are already moved: each row's balance after it is the new
                # balance less the member's later releases of this batch.
                key = "'pending-' || p.id" + ("::text" if d.postgres else "")
                credited = await d.rows(
                    conn,
                    Statement(
                        "INSERT INTO points_ledger (member_id, delta, kind, reason, source, "
                        "idempotency_key, balance_after, created_at) "
                        f"SELECT p.member_id, p.points, ?, p.reason, ?, {key}, "
                        "m.points_balance - SUM(p.points) OVER (PARTITION BY p.member_id) "
                        "+ SUM(p.points) OVER (PARTITION BY p.member_id ORDER BY p.id "
                        "ROWS UNBOUNDED PRECEDING), ? "
                        "FROM pending_points p JOIN member m ON m.id = p.member_id "
                        f"WHERE {of_rows} "
                        "ON CONFLICT (source, idempotency_key) DO NOTHING "
                        "RETURNING member_id, delta, balance_after, idempotency_key",
                        [
                            LedgerKind.EARN.value,
                            LedgerSource.EVENT.value,
                            d.param(now),
                            *row_params,
                        ],
                    ),
                )
                # Told as the event's points reaching the balance (webhooks: points.earned).
                event_of = {f"pending-{r['id']}": int(r["event_id"]) for r in flipped}
                await OutboxMessage.bulk_create(
                    [
                        OutboxMessage(
                            topic="points.released",
                            payload={
                                "member_id": int(r["member_id"]),
                                "event_id": event_of[r["idempotency_key"]],
                                "points": int(r["delta"]),
                                "balance": int(r["balance_after"]),
                            },
                            created_at=now,
                        )
                        for r in credited
                    ],
                    using_db=conn,
                )
                released += len(flipped)
                points += sum(int(r["points"]) for r in flipped)
        if heartbeat is not None:
            await heartbeat()
        if len(due) < BATCH:
            break
    if released:
        outbox_written()
    return {"released": released, "points": points}
