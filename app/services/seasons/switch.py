"""Season boundaries: a season's benefits switched on for every eligible member when it
starts, and expired when it ends.

Set-based and resumable. Members are swept in batches of member ids, each one statement
(``INSERT … SELECT … ON CONFLICT DO NOTHING`` to grant, one ``UPDATE`` to expire) in the
same transaction as the step's cursor (``season_switch``), so a killed worker loses at
most the batch it had not committed and the next run resumes after the last one that
did. The unique (member, benefit, source, source_ref) of ``benefit_grant`` is what makes
a grant happen once, whatever runs race: two runs, a retried batch, a promotion.

A grant step keeps following the member table while its season runs: members enrolled
after the sweep are granted by the next run (within a minute or so). A member promoted
into an eligible tier mid-season is granted in the promotion's own transaction
(:func:`app.services.benefits.grants.grant_running_season_benefits`, called by the event
service).

Bulk grants write no outbox rows, so members get no live push for them: a season start
would otherwise put a million updates through the relay in one go and hold up every other
member's updates behind it. Members see the grants in ``benefits``; a grant made on a
promotion is pushed (``benefits.granted``) like the tier's own benefits.

Deactivated members (``member.deactivated_at``) are passed by; reactivation grants them
the running seasons' benefits (app/services/members/lifecycle.py).

The brand's systems are told through the outbox (webhooks): ``season.started`` once, by
the first run that finds the season running (a ``start`` step row, unique per season,
written in the same transaction); ``benefit.revoked`` for the grants each expiry batch
switched off (one outbox row per batch, listing them); ``season.ended`` once, in the
transaction that marks the expiry step done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from app.db import sql
from app.models import Member, OutboxMessage, Season, SeasonalBenefit, SeasonSwitch
from app.services.benefits.grants import announce_revocations
from app.services.notifications.outbox import outbox_written
from gamification.benefits import GrantSource, GrantStatus

# Member ids per batch: ~20,000 grants, well under a second of one statement on PostgreSQL.
BATCH = 20_000
# A member row is swept only once it is this old: ids are handed out before their
# transactions commit, so a row younger than this may still appear below the cursor.
SETTLE = timedelta(seconds=30)
EXPIRE_STEP = "expire"
# Written once per season, when a run first finds it running: the season.started webhook.
START_STEP = "start"

Heartbeat = Callable[[], Awaitable[None]]
BatchWork = Callable[[BaseDBAsyncClient, int, int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class SeasonBoundaries:
    """What one run did: grants made and grants expired, and the seasons touched."""

    granted: int
    expired: int
    started: list[int]
    ended: list[int]

    def as_result(self) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "expired": self.expired,
            "started": self.started,
            "ended": self.ended,
        }


async def switch_seasons(
    *, now: datetime, batch_size: int = BATCH, heartbeat: Heartbeat | None = None
) -> SeasonBoundaries:
    """Grant the benefits of every running season to its eligible members and expire the
    grants of every season that ended. Idempotent: run it as often as you like."""
    granted = expired = 0
    started: list[int] = []
    for season in await Season.filter(
        starts_at__lte=now, ends_at__gt=now, archived_at__isnull=True
    ).order_by("id"):
        await announce_start(season=season, now=now)
        made = await grant_season(
            season=season, now=now, batch_size=batch_size, heartbeat=heartbeat
        )
        granted += made
        if made:
            started.append(season.id)
    # Tortoise types flat values_list results as tuples.
    expire_steps_done = SeasonSwitch.filter(step=EXPIRE_STEP, done_at__isnull=False)
    done: set[int] = set(
        await expire_steps_done.values_list("season_id", flat=True)  # type: ignore[arg-type]
    )
    ended: list[int] = []
    for season in await Season.filter(ends_at__lte=now).order_by("id"):
        if season.id in done:
            continue
        expired += await expire_season(
            season=season, now=now, batch_size=batch_size, heartbeat=heartbeat
        )
        ended.append(season.id)
    return SeasonBoundaries(granted=granted, expired=expired, started=started, ended=ended)


async def grant_season(
    *, season: Season, now: datetime, batch_size: int = BATCH, heartbeat: Heartbeat | None = None
) -> int:
    """Grant each live seasonal benefit of a running season to the members whose tier it
    names, from the step's cursor to the newest settled member. Returns grants made."""
    if not season.starts_at <= now < season.ends_at or season.archived_at is not None:
        return 0
    top = await _newest_settled_member(now)
    made = 0
    rows = await SeasonalBenefit.filter(
        season_id=season.id, benefit__archived_at__isnull=True
    ).order_by("id")
    for row in rows:
        switch = await _switch(season.id, f"grant:{row.id}", now)
        if switch.cursor >= top:
            continue
        grant = partial(_grant_batch, season=season, row=row)
        made += await _sweep(
            switch, top=top, batch_size=batch_size, work=grant, now=now, heartbeat=heartbeat
        )
    return made


def _season_data(season: Season) -> dict[str, Any]:
    return {
        "seasonId": season.id,
        "code": season.code,
        "name": season.name,
        "startsAt": season.starts_at.isoformat(),
        "endsAt": season.ends_at.isoformat(),
    }


async def announce_start(*, season: Season, now: datetime) -> bool:
    """Write ``season.started`` to the outbox, once per season (the ``start`` step row is
    unique per season and written in the same transaction). True when this run did."""
    if await SeasonSwitch.exists(season_id=season.id, step=START_STEP):
        return False
    try:
        async with in_transaction() as conn:
            await SeasonSwitch.create(
                season_id=season.id, step=START_STEP, done_at=now, updated_at=now, using_db=conn
            )
            await OutboxMessage.create(
                topic="season.started", payload=_season_data(season), created_at=now, using_db=conn
            )
    except IntegrityError:  # another run told it first
        return False
    outbox_written()
    return True


async def expire_season(
    *, season: Season, now: datetime, batch_size: int = BATCH, heartbeat: Heartbeat | None = None
) -> int:
    """Expire the active grants of an ended season (valid until its end), then mark the
    step done. Used grants stay used. Returns grants expired."""
    if now < season.ends_at:
        return 0
    switch = await _switch(season.id, EXPIRE_STEP, now)
    if switch.done_at is not None:
        return 0
    # Tortoise types flat values_list results as tuples.
    top: int | None = await (  # type: ignore[assignment]
        Member.all().annotate(top=Max("id")).first().values_list("top", flat=True)
    )

    async def expire(conn: BaseDBAsyncClient, lo: int, hi: int) -> int:
        revoked = await conn.execute_query_dict(
            sql(
                conn,
                "UPDATE benefit_grant SET status = ?, valid_to = ? "
                "WHERE member_id > ? AND member_id <= ? AND source = ? AND source_ref = ? "
                "AND status = ? RETURNING id, member_id, benefit_id, source",
            ),
            [
                GrantStatus.EXPIRED.value,
                season.ends_at,
                lo,
                hi,
                GrantSource.SEASON.value,
                str(season.id),
                GrantStatus.ACTIVE.value,
            ],
        )
        await announce_revocations(
            conn, revoked=revoked, reason="season_ended", valid_to=season.ends_at, now=now
        )
        return len(revoked)

    expired = await _sweep(
        switch, top=int(top or 0), batch_size=batch_size, work=expire, now=now, heartbeat=heartbeat
    )
    async with in_transaction() as conn:
        # Conditional on not being done: of two runs finishing together, one tells.
        finished = (
            await SeasonSwitch.filter(id=switch.id, done_at__isnull=True)
            .using_db(conn)
            .update(done_at=now, updated_at=now)
        )
        if finished:
            total = await SeasonSwitch.get(id=switch.id, using_db=conn)
            await OutboxMessage.create(
                topic="season.ended",
                payload={**_season_data(season), "expiredGrants": total.granted},
                created_at=now,
                using_db=conn,
            )
    if expired or finished:
        outbox_written()
    return expired


async def _newest_settled_member(now: datetime) -> int:
    # Tortoise types flat values_list results as tuples.
    top: int | None = await (  # type: ignore[assignment]
        Member.filter(created_at__lte=now - SETTLE)
        .annotate(top=Max("id"))
        .first()
        .values_list("top", flat=True)
    )
    return int(top or 0)


async def _switch(season_id: int, step: str, now: datetime) -> SeasonSwitch:
    switch = await SeasonSwitch.get_or_none(season_id=season_id, step=step)
    if switch is not None:
        return switch
    try:
        return await SeasonSwitch.create(season_id=season_id, step=step, updated_at=now)
    except IntegrityError:  # another run created it first
        return await SeasonSwitch.get(season_id=season_id, step=step)


async def _sweep(
    switch: SeasonSwitch,
    *,
    top: int,
    batch_size: int,
    work: BatchWork,
    now: datetime,
    heartbeat: Heartbeat | None,
) -> int:
    """Run ``work`` over member ids (cursor, top] in batches, each in one transaction with
    the move of the cursor. Two runs of one step take turns batch by batch: the cursor
    moves only from the value a run read, so a batch is never done by both."""
    total = 0
    while True:
        async with in_transaction() as conn:
            query = SeasonSwitch.get(id=switch.id, using_db=conn)
            # Tortoise types flat values_list results as tuples.
            lo: int = await query.values_list("cursor", flat=True)  # type: ignore[assignment]
            if lo >= top:
                break
            hi = min(lo + batch_size, top)
            claimed = (
                await SeasonSwitch.filter(id=switch.id, cursor=lo)
                .using_db(conn)
                .update(cursor=hi, updated_at=now)
            )
            if not claimed:
                continue  # another run took this batch; read the cursor again
            n = await work(conn, lo, hi)
            if n:
                await (
                    SeasonSwitch.filter(id=switch.id)
                    .using_db(conn)
                    .update(granted=F("granted") + n)
                )
        total += n
        if heartbeat is not None:
            await heartbeat()
    return total


async def _grant_batch(
    conn: BaseDBAsyncClient, lo: int, hi: int, *, season: Season, row: SeasonalBenefit
) -> int:
    codes = [str(c) for c in row.tier_codes]
    if not codes:
        return 0
    postgres = conn.capabilities.dialect == "postgres"
    values: list[Any] = [
        row.benefit_id,
        GrantSource.SEASON.value,
        str(season.id),
        season.starts_at,
        season.ends_at,
        GrantStatus.ACTIVE.value,
        lo,
        hi,
        *codes,
    ]
    marks = [f"${n}" if postgres else "?" for n in range(1, len(values) + 1)]
    # The member's current tier, by its code: codes outlive ladder versions.
    insert = (
        "INSERT INTO benefit_grant "
        "(member_id, benefit_id, source, source_ref, valid_from, valid_to, status, tier_code) "
        f"SELECT m.id, {', '.join(marks[:6])}, t.code FROM member m "
        "JOIN tier t ON t.id = m.tier_id "
        f"WHERE m.id > {marks[6]} AND m.id <= {marks[7]} AND m.deactivated_at IS NULL "
        f"AND t.code IN ({', '.join(marks[8:])}) "
        "ON CONFLICT (member_id, benefit_id, source, source_ref) DO NOTHING"
    )
    if postgres:
        # asyncpg's status line of an INSERT reports no count through tortoise.
        rows = await conn.execute_query_dict(
            f"WITH made AS ({insert} RETURNING 1) SELECT count(*) AS n FROM made", values
        )
        return int(rows[0]["n"])
    count, _ = await conn.execute_query(insert, values)
    return count
