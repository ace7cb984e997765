"""Admins change the ladder by versions: a draft, then a publication with notice.

A publication tells every member (a notification each) and the brand's systems (the
``ladder.published`` outbox row, a webhook), in its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.models import LadderVersion, LadderVersionStatus, OutboxMessage, Tier
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found
from app.services.tiers.ladder import store_tiers
from gamification.activity.engine import GrowthWeights
from gamification.tiers.ladder import InvalidLadder, TierRule, validate_ladder

VERSION_FIELDS = ("number", "status", "effective_at", "published_at", "notes")
RULE_CHANGE_KIND = "rule_change"


async def create_draft(
    *, tiers: Sequence[TierRule], weights: GrowthWeights, notes: str, actor: Actor, now: datetime
) -> LadderVersion:
    """Store a validated ladder as a draft version (not in force, members not told)."""
    try:
        ordered = validate_ladder(tiers)
    except InvalidLadder as exc:
        raise InvalidInput.single("tiers", str(exc)) from exc
    if len(notes) > 500:
        raise InvalidInput.single("notes", "must be at most 500 characters")
    if weights.spend < 0 or min(weights.active_day, weights.task_completed, weights.referral) < 0:
        raise InvalidInput.single("weights", "must not be negative")
    async with (
        in_transaction() as conn,
        audited(conn, actor=actor, action="ladder.draft", fields=VERSION_FIELDS, now=now) as change,
    ):
        # The version number is taken under the unique constraint on number.
        last = await LadderVersion.all().using_db(conn).order_by("-number").first()
        version = change.created(
            await LadderVersion.create(
                number=(last.number + 1) if last else 1,
                status=LadderVersionStatus.DRAFT,
                notes=notes,
                weight_spend=weights.spend,
                weight_active_day=weights.active_day,
                weight_task_completed=weights.task_completed,
                weight_referral=weights.referral,
                using_db=conn,
            )
        )
        await store_tiers(version_id=version.id, rules=ordered, using_db=conn)
        change.note(tiers=[t.code for t in ordered])
    return version


async def publish(
    *,
    version_id: int,
    effective_at: datetime,
    notice: timedelta,
    actor: Actor,
    now: datetime,
) -> tuple[LadderVersion, int]:
    """Publish a draft, in force from ``effective_at`` (at least ``notice`` ahead), and tell
    every member in the same transaction. Returns the version and how many were told."""
    if effective_at.tzinfo is None:
        raise InvalidInput.single("effectiveAt", "must include a time zone offset")
    if effective_at < now + notice:
        raise InvalidInput.single(
            "effectiveAt", f"must be at least {notice.days} days ahead, so members are told"
        )
    async with in_transaction() as conn:
        version = await get_locked_or_not_found(LadderVersion, version_id, conn=conn)
        if version.status is not LadderVersionStatus.DRAFT:
            raise InvalidInput.single("id", "only a draft can be published")
        async with audited(
            conn,
            actor=actor,
            action="ladder.publish",
            subject=version,
            fields=VERSION_FIELDS,
            now=now,
        ) as change:
            version.status = LadderVersionStatus.PUBLISHED
            version.effective_at = effective_at
            version.published_at = now
            await version.save(using_db=conn)
            tiers = await Tier.filter(ladder_version_id=version.id).using_db(conn).order_by("rank")
            told = await _announce(conn, version=version, tiers=tiers, now=now)
            change.note(members_told=told)
            await OutboxMessage.create(
                topic="ladder.published",
                payload={
                    "versionId": version.id,
                    "number": version.number,
                    "effectiveAt": effective_at.isoformat(),
                    "tiers": [t.code for t in tiers],
                    "notes": version.notes,
                },
                created_at=now,
                using_db=conn,
            )
    outbox_written()
    return version, told


async def _announce(
    conn: BaseDBAsyncClient, *, version: LadderVersion, tiers: list[Tier], now: datetime
) -> int:
    """One notification per member, written by one INSERT ... SELECT (never a query per
    member). Returns how many members were told."""
    assert version.effective_at is not None
    ladder = ", ".join(f"{t.name} from {t.entry_threshold}" for t in tiers)
    body = f"From {version.effective_at:%Y-%m-%d %H:%M} UTC the ladder is: {ladder}."
    if version.notes:
        body = f"{body} {version.notes}"
    data = json.dumps({"version": version.number, "effective_at": version.effective_at.isoformat()})
    if conn.capabilities.dialect == "postgres":
        values = "$1, $2, $3, $4::jsonb, $5"
    else:
        values = "?, ?, ?, ?, ?"
    await conn.execute_query(
        "INSERT INTO notification (member_id, kind, title, body, data, created_at) "
        f"SELECT id, {values} FROM member",
        [RULE_CHANGE_KIND, "The tier ladder is changing", body, data, now],
    )
    rows = await conn.execute_query_dict("SELECT count(*) AS n FROM member")
    return int(rows[0]["n"])
