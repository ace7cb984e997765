"""Switching members to the ladder version in force, when a published version takes effect.

Members keep the tier row of the version they were placed under until this job moves
them: each to the tier of the same rank in the version in force (the highest rank it has,
if it has fewer tiers). Set-based, in batches by member id; only members still on
another version's tier are touched, so a re-run after a crash moves only the rest.
Moves that change the rank are recorded as ladder-change tier changes. Boards filtered by
tier are told to re-read their members (their tier codes may have changed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.transactions import in_transaction

from app.db import sql
from app.models import Leaderboard, Member, OutboxMessage, TierChangeReason
from app.services.notifications.outbox import outbox_written
from app.services.tiers.ladder import ladder_in_force

BATCH = 10_000


async def switch_members_to_ladder_in_force(
    *, now: datetime, heartbeat: Callable[[], Awaitable[None]] | None = None
) -> dict[str, int]:
    version = await ladder_in_force(now=now)
    if version is None:
        return {"moved": 0, "changed_rank": 0}
    # old tier -> the tier of the version in force with the same rank (clamped).
    mapping = (
        "SELECT o.id AS old_id, n.id AS new_id, o.rank AS old_rank, n.rank AS new_rank "
        "FROM tier o JOIN tier n ON n.ladder_version_id = ? AND n.rank = "
        "(SELECT max(x.rank) FROM tier x WHERE x.ladder_version_id = ? AND x.rank <= o.rank) "
        "WHERE o.ladder_version_id <> ?"
    )
    moved = changed_rank = 0
    after = 0
    while True:
        async with in_transaction() as conn:
            # Tortoise types flat values_list results as tuples.
            ids: list[int] = await (  # type: ignore[assignment]
                Member.filter(id__gt=after)
                .exclude(tier__ladder_version_id=version.id)
                .using_db(conn)
                .order_by("id")
                .limit(BATCH)
                .values_list("id", flat=True)
            )
            if not ids:
                break
            lo, hi = ids[0], ids[-1]
            params = [version.id, version.id, version.id, lo, hi]
            changed = await conn.execute_query_dict(
                sql(
                    conn,
                    f"WITH mapping AS ({mapping}) "
                    "INSERT INTO tier_change (member_id, from_tier_id, to_tier_id, reason, "
                    "ladder_version_id, changed_at) "
                    f"SELECT m.id, mp.old_id, mp.new_id, '{TierChangeReason.LADDER_CHANGE.value}', "
                    f"{version.id}, ? FROM member m JOIN mapping mp ON mp.old_id = m.tier_id "
                    "WHERE m.id BETWEEN ? AND ? AND mp.old_rank <> mp.new_rank RETURNING id",
                ),
                [version.id, version.id, version.id, now, lo, hi],
            )
            changed_rank += len(changed)
            rows = await conn.execute_query_dict(
                sql(
                    conn,
                    f"WITH mapping AS ({mapping}) "
                    "UPDATE member SET tier_id = mapping.new_id FROM mapping "
                    "WHERE member.tier_id = mapping.old_id AND member.id BETWEEN ? AND ? "
                    "RETURNING member.id",
                ),
                params,
            )
            moved += len(rows)
            after = hi
        if heartbeat is not None:
            await heartbeat()
    if moved:
        async with in_transaction() as conn:
            boards = await Leaderboard.filter(
                tier_code__isnull=False, archived_at__isnull=True
            ).using_db(conn)
            for board in boards:
                await OutboxMessage.create(
                    topic="leaderboard.changed",
                    payload={"board_id": board.id},
                    created_at=now,
                    using_db=conn,
                )
        outbox_written()
    return {"moved": moved, "changed_rank": changed_rank}
