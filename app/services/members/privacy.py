"""Erasing a member's personal data (GDPR Art. 17), and refusing the tokens of erased members.

Erasure pseudonymises rather than deletes: the member row stays, so the points ledger (an
append-only accounting record, kept under Art. 17(3)(b)), tier history, grants,
redemptions and the analytics keep a member to point to, while nothing in them says who it
was. In one transaction it:

- replaces the profile: display name ``Erased member``, external id ``erased-<random>``
  (the unique key stays unique), birthday, time zone and locale cleared, marketing opt-out
  set; marks the member erased (``erased_at``) and deactivated, so its events and
  redemptions are refused (``MemberInactive``) and reactivation is refused for good;
- drops the free attributes of its events (``{}``), clears its notifications' title, body
  and data and an admin's flag reason, deletes its leaderboard scores (an outbox row tells
  the Redis index to drop them) and every export of its data;
- rewrites ``memberExternalId`` in the webhook deliveries already written about it;
- scrubs the profile values (and the free-text reasons of member actions) from the before
  and after of every earlier audit entry about it, and records ``member.erase`` with ids
  only;
- writes a ``member.erased`` outbox row (a webhook carrying the member's Laurel id only).

What it keeps: ledger rows as written (amounts, kinds, sources, reasons; operators must not
put personal data in adjustment reasons), events' types, amounts and idempotency keys,
task progress, badges, facts, grants, redemptions: none names the person.

Tokens: a member token names its member by Laurel's id, which erasure keeps. Every process
keeps the set of erased ids (``ErasedMembers``), refreshed from the database at most every
``REFRESH`` (an indexed read of the few erased rows) and at once after an erasure in the same
process; the bearer middleware refuses a member token whose member is in it.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app import db
from app.dialect import Dialect
from app.models import (
    AuditEntry,
    Event,
    LeaderboardScore,
    Member,
    MemberExport,
    Notification,
    OutboxMessage,
)
from app.services.leaderboards.boards import change_standing
from app.services.leaderboards.index import MEMBER_CHANGED
from app.services.members.merging import MERGED
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found

ERASED_NAME = "Erased member"
ERASED_PREFIX = "erased-"
ERASED_REASON = "erased"
# The outbox topic of an erasure (and the webhook event type made from it).
ERASED_TOPIC = "member.erased"
# What replaces a personal value in the audit log.
SCRUBBED = "[erased]"
# Keys of an audit entry's before/after that hold personal data of the member it is about:
# the profile, and the free text operators wrote about the member (deactivation, flag).
PERSONAL_AUDIT_KEYS = frozenset(
    {"display_name", "external_id", "birthday", "time_zone", "locale", "reason"}
)
# The member's columns erasure writes.
ERASED_FIELDS = (
    "external_id",
    "display_name",
    "birthday",
    "time_zone",
    "locale",
    "marketing_opt_out",
    "deactivated_at",
    "deactivation_reason",
    "erased_at",
    "updated_at",
)
# How stale a process's set of erased members may be (other processes' erasures).
REFRESH = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class Erasure:
    member: Member
    # False when the member was erased before: nothing was written.
    changed: bool


async def erase_member(*, member_id: int, confirm: str, actor: Actor, now: datetime) -> Erasure:
    """Erase the member's personal data, irreversibly. ``confirm`` must equal the member's
    external id (what the operator reads on the member's page), else ``InvalidInput`` on
    ``confirm`` and nothing is written. A member erased before is returned unchanged
    whatever ``confirm`` says (its external id is gone; a retry must not fail)."""
    async with in_transaction() as conn:
        member = await get_locked_or_not_found(Member, member_id, conn=conn)
        if member.erased_at is not None:
            return Erasure(member, changed=False)
        if confirm != member.external_id:
            raise InvalidInput.single(
                "confirm", "must be the member's external id, exactly, to confirm the erasure"
            )
        async with audited(
            conn,
            actor=actor,
            action="member.erase",
            target_type="Member",
            target_id=member_id,
            now=now,
        ) as change:
            was_active = member.deactivated_at is None
            # Members merged into this one are the same person enrolled again: their rows
            # still hold its old external ids and profile, so they are erased with it.
            merged = (
                await Member.filter(merged_into_id=member_id, erased_at__isnull=True)
                .using_db(conn)
                .order_by("id")
            )
            for person in (member, *merged):
                await _erase_row(conn, person, now=now)
            # Ids only: the log must not keep what was erased.
            change.before = {"erased": False, "active": was_active}
            change.after = {"erased": True, "active": False}
            if merged:
                change.after["mergedMembersErased"] = [m.id for m in merged]
    _erased_here.add(member_id)
    outbox_written()
    return Erasure(member, changed=True)


async def _erase_row(conn: BaseDBAsyncClient, member: Member, *, now: datetime) -> None:
    """Pseudonymise one member row and clear what is personal around it (the caller holds
    the row's lock and audits the erasure)."""
    member_id = member.id
    await _scrub_audit(conn, member_id)
    pseudonym = ERASED_PREFIX + secrets.token_hex(8)
    member.external_id = pseudonym
    member.display_name = ERASED_NAME
    member.birthday = None
    member.time_zone = None
    member.locale = None
    member.marketing_opt_out = True
    member.deactivated_at = member.deactivated_at or now
    member.deactivation_reason = ERASED_REASON
    member.erased_at = now
    member.updated_at = now
    # Only these columns: balances change by atomic updates alone.
    await member.save(using_db=conn, update_fields=list(ERASED_FIELDS))
    await Event.filter(member_id=member_id).using_db(conn).update(attributes={})
    await Notification.filter(member_id=member_id).using_db(conn).update(title="", body="", data={})
    await MemberExport.filter(member_id=member_id).using_db(conn).delete()
    await _rewrite_deliveries(conn, member_id, pseudonym)
    await _leave_boards(conn, member_id, now=now)
    await OutboxMessage.create(
        topic=ERASED_TOPIC,
        payload={"member_id": member_id},
        created_at=now,
        using_db=conn,
    )
    _erased_here.add(member_id)


async def _scrub_audit(conn: BaseDBAsyncClient, member_id: int) -> None:
    """Replace the personal values in the before and after of the audit entries about the
    member (a member has few: its profile changes, flags, adjustments)."""
    entries = await AuditEntry.filter(target_type="Member", target_id=str(member_id)).using_db(conn)
    for entry in entries:
        before, after = _scrubbed(entry.before), _scrubbed(entry.after)
        if (before, after) != (entry.before, entry.after):
            entry.before, entry.after = before, after
            await entry.save(using_db=conn, update_fields=["before", "after"])


def _scrubbed(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """``state`` with its personal values replaced, nested ones too (a merge's entry holds
    both members' states)."""
    if state is None:
        return None
    return {
        key: SCRUBBED
        if key in PERSONAL_AUDIT_KEYS and value is not None
        else _scrubbed(value)
        if isinstance(value, dict)
        else value
        for key, value in state.items()
    }


# Personal values in what was told about a member, by where they sit: (the outbox topic, the
# key in its payload; the webhook event type, the key in its delivery's data). A merge names
# the member merged into the survivor by its old external id; a profile change carries the
# new values; a deactivation an operator's free-text reason.
_TOLD = (
    (MERGED, "duplicate_external_id", "member.merged", "duplicateExternalId"),
    ("member.updated", "changes", "member.updated", "changes"),
    ("member.deactivated", "reason", "member.deactivated", "reason"),
)


async def _rewrite_deliveries(conn: BaseDBAsyncClient, member_id: int, pseudonym: str) -> None:
    """Webhook deliveries name the member by its external id (read when they were written):
    the pseudonym goes there, in pending and sent ones alike; and the personal values of
    ``_TOLD`` become ``[erased]`` in deliveries and in the outbox rows they were made from
    (the relay keeps processed rows)."""
    d = Dialect(conn)
    await _set_json(
        conn,
        d,
        "webhook_delivery",
        ("data", "memberExternalId"),
        pseudonym,
        ("data", "memberId"),
        member_id,
    )
    for topic, key, event_type, field in _TOLD:
        await _set_json(
            conn,
            d,
            "webhook_delivery",
            ("data", field),
            SCRUBBED,
            ("data", "memberId"),
            member_id,
            kind=("event_type", event_type),
        )
        await _set_json(
            conn, d, "outbox", (key,), SCRUBBED, ("member_id",), member_id, kind=("topic", topic)
        )


async def _set_json(
    conn: BaseDBAsyncClient,
    d: Dialect,
    table: str,
    path: tuple[str, ...],
    value: str,
    owner: tuple[str, ...],
    member_id: int,
    *,
    kind: tuple[str, str] | None = None,
) -> None:
    """Set ``path`` of the JSON ``payload`` to ``value`` in the rows of ``table`` whose
    ``owner`` path is ``member_id`` (and whose ``kind`` column has the value given), where
    the path exists: one statement."""
    condition, params = "", []
    if kind is not None:
        condition, params = f" AND {kind[0]} = ?", [kind[1]]
    if d.postgres:
        where = "payload" + "".join(f"->'{p}'" for p in owner[:-1]) + f"->>'{owner[-1]}'"
        present = "payload" + "".join(f"->'{p}'" for p in path)
        statement = (
            f"UPDATE {table} SET payload = jsonb_set(payload, '{{{','.join(path)}}}', "
            f"to_jsonb(?::text)) WHERE {where} = ? AND {present} IS NOT NULL{condition}"
        )
        values: list[Any] = [value, str(member_id), *params]
    else:
        where_path, set_path = "$." + ".".join(owner), "$." + ".".join(path)
        statement = (
            f"UPDATE {table} SET payload = json_set(payload, '{set_path}', ?) "
            f"WHERE json_extract(payload, '{where_path}') = ? "
            f"AND json_type(payload, '{set_path}') IS NOT NULL{condition}"
        )
        values = [value, member_id, *params]
    await conn.execute_query(d.numbered(statement), values)


async def _leave_boards(conn: BaseDBAsyncClient, member_id: int, *, now: datetime) -> None:
    """Delete the member's scores (the truth every board reads) and tell the Redis index
    which boards' entries to drop: it removes a member whose score row is gone."""
    # An admin's flag reason is free text about the member.
    await change_standing(
        conn, member_id=member_id, changes={"member_active": False, "flag_reason": ""}, now=now
    )
    pairs = (
        await LeaderboardScore.filter(member_id=member_id)
        .using_db(conn)
        .values_list("metric", "period_key")
    )
    if not pairs:
        return
    await LeaderboardScore.filter(member_id=member_id).using_db(conn).delete()
    await OutboxMessage.create(
        topic=MEMBER_CHANGED,
        payload={
            "member_id": member_id,
            "scores": sorted([metric, key] for metric, key in pairs),
            "active": False,
        },
        created_at=now,
        using_db=conn,
    )


class _ErasedHere:
    """Erasures made by this process, counted, so every ``ErasedMembers`` of the process
    re-reads at once rather than after ``REFRESH``."""

    def __init__(self) -> None:
        self.generation = 0

    def add(self, member_id: int) -> None:
        self.generation += 1


_erased_here = _ErasedHere()


class ErasedMembers:
    """The ids of erased members as this process knows them, for refusing their tokens.

    Re-read (one indexed statement) when older than ``REFRESH`` by the caller's clock, when
    that clock went back, or after an erasure in this process.
    """

    def __init__(self, *, refresh: timedelta = REFRESH) -> None:
        self.refresh = refresh
        self.ids: frozenset[int] = frozenset()
        self.read_at: datetime | None = None
        self.generation = -1
        self._lock = asyncio.Lock()

    def _stale(self, now: datetime) -> bool:
        return (
            self.read_at is None
            or self.generation != _erased_here.generation
            or not self.read_at <= now < self.read_at + self.refresh
        )

    async def contains(self, member_id: int, *, now: datetime) -> bool:
        if self._stale(now):
            async with self._lock:
                if self._stale(now):
                    generation = _erased_here.generation
                    rows = await db.connection().execute_query_dict(
                        "SELECT id FROM member WHERE erased_at IS NOT NULL"
                    )
                    self.ids = frozenset(int(r["id"]) for r in rows)
                    self.read_at, self.generation = now, generation
        return member_id in self.ids
