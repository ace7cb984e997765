"""Birthday gifts: on a member's local birthday, the birthday benefits of its tier.

A tier gives a birthday gift by carrying a benefit of kind ``birthday_gift`` in the tier
matrix. The daily job grants it to every member whose birthday is today in the
programme's time zone (29 February birthdays are celebrated on 28 February in other
years), valid for ``LAUREL_BIRTHDAY_GIFT_DAYS`` days. One INSERT ... SELECT per batch of
members; the grant's unique (member, benefit, source, source_ref = the year) makes a
re-run grant nothing twice. Each batch writes the members' ``benefits.granted`` pushes.
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.db import sql
from app.models import Benefit, Member, OutboxMessage
from app.services.notifications.outbox import outbox_written
from gamification.benefits import BenefitKind, GrantSource, GrantStatus

BATCH = 10_000


def celebrated_days(today: date) -> list[str]:
    """The birthdays (as MM-DD) celebrated on ``today``."""
    days = [today.strftime("%m-%d")]
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append("02-29")
    return days


async def grant_birthday_gifts(
    *,
    now: datetime,
    zone: ZoneInfo,
    valid_days: int,
    heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, int]:
    today = now.astimezone(zone).date()
    days = celebrated_days(today)
    valid_from = datetime.combine(today, time(0), tzinfo=zone)
    valid_to = valid_from + timedelta(days=valid_days)
    granted = 0
    after = 0
    while True:
        async with in_transaction() as conn:
            postgres = conn.capabilities.dialect == "postgres"
            # Tortoise types flat values_list results as tuples.
            ids: list[int] = await (  # type: ignore[assignment]
                Member.filter(id__gt=after, birthday__isnull=False)
                .using_db(conn)
                .order_by("id")
                .limit(BATCH)
                .values_list("id", flat=True)
            )
            if not ids:
                break
            lo, hi = ids[0], ids[-1]
            month_day = (
                "to_char(m.birthday, 'MM-DD')" if postgres else "strftime('%m-%d', m.birthday)"
            )
            marks = ", ".join("?" * len(days))
            rows = await conn.execute_query_dict(
                sql(
                    conn,
                    "INSERT INTO benefit_grant "
                    "(member_id, benefit_id, source, source_ref, valid_from, valid_to, status) "
                    "SELECT m.id, b.id, ?, ?, ?, ?, ? FROM member m "
                    "JOIN tier t ON t.id = m.tier_id "
                    "JOIN tier_benefit tb ON tb.tier_code = t.code "
                    "JOIN benefit b ON b.id = tb.benefit_id "
                    f"WHERE m.id BETWEEN ? AND ? AND {month_day} IN ({marks}) "
                    "AND m.deactivated_at IS NULL "
                    "AND b.kind = ? AND b.archived_at IS NULL "
                    "ON CONFLICT (member_id, benefit_id, source, source_ref) DO NOTHING "
                    "RETURNING id, member_id, benefit_id",
                ),
                [
                    GrantSource.BIRTHDAY.value,
                    str(today.year),
                    valid_from,
                    valid_to,
                    GrantStatus.ACTIVE.value,
                    lo,
                    hi,
                    *days,
                    BenefitKind.BIRTHDAY_GIFT.value,
                ],
            )
            if rows:
                await _tell(conn, rows, now=now)
            granted += len(rows)
            after = hi
        if heartbeat is not None:
            await heartbeat()
    if granted:
        outbox_written()
    return {"granted": granted}


async def _tell(conn: BaseDBAsyncClient, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """One ``benefits.granted`` outbox row per member of the batch, in one statement."""
    ids = {r["benefit_id"] for r in rows}
    benefits = {b.id: b for b in await Benefit.filter(id__in=ids).using_db(conn)}
    by_member: dict[int, list[dict[str, object]]] = {}
    for r in rows:
        b = benefits[r["benefit_id"]]
        by_member.setdefault(int(r["member_id"]), []).append(
            {
                "grant_id": r["id"],
                "code": b.code,
                "name": b.name,
                "kind": b.kind.value,
                "source": GrantSource.BIRTHDAY.value,
            }
        )
    await OutboxMessage.bulk_create(
        [
            OutboxMessage(
                topic="benefits.granted",
                payload={"member_id": member_id, "grants": grants},
                created_at=now,
            )
            for member_id, grants in by_member.items()
        ],
        using_db=conn,
    )
