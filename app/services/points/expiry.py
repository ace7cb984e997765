"""Point expiry: points credited more than N days ago and not yet used expire, first in
first out, one ledger row per member and day.

FIFO without walking each member's history: debits (spends, reversals, negative
adjustments, earlier expiries) use the oldest credits first, so what is left of the
credits older than the cutoff is ``credits before the cutoff + all debits`` (debits are
negative), at most the balance. That amount expires. One INSERT ... SELECT per batch of
members writes the expiry rows (idempotency key ``expire:<local date>:<member>``: a
re-run the same day inserts nothing), then one UPDATE moves the balances of exactly the
rows inserted. A deactivated member's points do not expire while it is deactivated: once
reactivated, its credits older than the cutoff expire at the next run as anyone's. On
PostgreSQL the batch's member rows are locked first, so an event committing meanwhile
cannot slip between the balance read and its update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from app.db import sql
from app.models import Member, OutboxMessage
from app.services.notifications.outbox import outbox_written
from gamification.points.ledger import LedgerKind, LedgerSource

BATCH = 5_000
REASON = "Points expired"


async def expire_points(
    *,
    now: datetime,
    zone: ZoneInfo,
    after_days: int | None,
    heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, int]:
    """Expire what is due at ``now``; how many members lost how many points."""
    if after_days is None:
        return {"members": 0, "points": 0}
    cutoff = now - timedelta(days=after_days)
    day = now.astimezone(zone).date().isoformat()
    members = points = 0
    after = 0
    while True:
        async with in_transaction() as conn:
            postgres = conn.capabilities.dialect == "postgres"
            # Tortoise types flat values_list results as tuples.
            ids: list[int] = await (  # type: ignore[assignment]
                Member.filter(id__gt=after, points_balance__gt=0)
                .using_db(conn)
                .order_by("id")
                .limit(BATCH)
                .values_list("id", flat=True)
            )
            if not ids:
                break
            lo, hi = ids[0], ids[-1]
            if postgres:
                await conn.execute_query(
                    "SELECT id FROM member WHERE id BETWEEN $1 AND $2 FOR UPDATE", [lo, hi]
                )
            member_text = "m.id::text" if postgres else "m.id"
            key = f"'expire:' || ? || ':' || {member_text}"
            expired = await conn.execute_query_dict(
                sql(
                    conn,
                    "INSERT INTO points_ledger (member_id, delta, kind, reason, source, "
                    "idempotency_key, balance_after, created_at) "
                    f"SELECT m.id, -d.amount, ?, ?, ?, {key}, m.points_balance - d.amount, ? "
                    "FROM member m JOIN ("
                    "  SELECT l.member_id, "
                    "  CASE WHEN left_old < bal THEN left_old ELSE bal END AS amount FROM ("
                    "    SELECT l.member_id, "
                    "    SUM(CASE WHEN l.delta > 0 AND l.created_at < ? THEN l.delta ELSE 0 END) "
                    "    + SUM(CASE WHEN l.delta < 0 THEN l.delta ELSE 0 END) AS left_old, "
                    "    MAX(mm.points_balance) AS bal "
                    "    FROM points_ledger l JOIN member mm ON mm.id = l.member_id "
                    "    WHERE l.member_id BETWEEN ? AND ? GROUP BY l.member_id"
                    "  ) l"
                    ") d ON d.member_id = m.id "
                    "WHERE d.amount > 0 AND m.deactivated_at IS NULL "
                    "ON CONFLICT (source, idempotency_key) DO NOTHING "
                    "RETURNING member_id, delta, balance_after",
                ),
                [
                    LedgerKind.EXPIRE.value,
                    REASON,
                    LedgerSource.EXPIRY.value,
                    day,
                    now,
                    cutoff,
                    lo,
                    hi,
                ],
            )
            if expired:
                marks = ", ".join("?" * len(expired))
                await conn.execute_query(
                    sql(
                        conn,
                        "UPDATE member SET points_balance = points_balance + "
                        "(SELECT l.delta FROM points_ledger l WHERE l.source = ? "
                        f"AND l.idempotency_key = {key.replace('m.id', 'member.id')}) "
                        f"WHERE id IN ({marks})",
                    ),
                    [LedgerSource.EXPIRY.value, day, *[r["member_id"] for r in expired]],
                )
                await OutboxMessage.bulk_create(
                    [
                        OutboxMessage(
                            topic="points.expired",
                            payload={
                                "member_id": int(r["member_id"]),
                                "delta": int(r["delta"]),
                                "balance": int(r["balance_after"]),
                            },
                            created_at=now,
                        )
                        for r in expired
                    ],
                    using_db=conn,
                )
                members += len(expired)
                points -= sum(int(r["delta"]) for r in expired)
            after = hi
        if heartbeat is not None:
            await heartbeat()
    if members:
        outbox_written()
    return {"members": members, "points": points}
