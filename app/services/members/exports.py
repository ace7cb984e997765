"""Everything Laurel holds about one member as one JSON document (GDPR Art. 15), and the
export jobs that build it for download.

``member_document`` streams the document in text chunks. Each section is read in keyset
pages of ``PAGE`` rows by id, so a member with a million events costs a thousand small
statements and never a million rows in memory; a member who changes meanwhile is written
as each page saw it. The sections are in ``SECTIONS``: a table holding something about a
member belongs there (tests/services/members/test_exports.py fills every one).

An export requested through the API (``request_export``, audited ``member.export``) is
built by the ``member_exports`` job (app/services/jobs/schedule.py, every minute, in the
embedded runner or under arq): each export runs once as the job run
``member_export``/``<export id>`` (a worker that dies is taken over after the lease, which
starts the document again). The document is kept in ``member_export_part`` rows of about
``PART_BYTES``, in the database, so whichever node serves the download has it; it is
deleted ``KEEP`` after it is done, and at once when the member is erased.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app.models import (
    AuditEntry,
    BenefitGrant,
    Event,
    EventReversal,
    LeaderboardMember,
    LeaderboardScore,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberExport,
    MemberExportPart,
    MemberExportStatus,
    MemberFact,
    Notification,
    PendingPoints,
    PointsLedgerEntry,
    Redemption,
    TaskCompletion,
    TaskProgressRow,
    TierChange,
    TierEvaluationMember,
)
from app.services.jobs.runs import run_slot
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_or_not_found

logger = logging.getLogger("laurel.exports")

FORMAT = "laurel.member-export/1"
# Rows per statement when reading a section.
PAGE = 1_000
# Size of one stored part of a document (characters, about bytes).
PART_BYTES = 256 * 1024
# How long a finished export stays downloadable.
KEEP = timedelta(days=7)
# The job run of one export: name, and the export id as its slot.
RUN_NAME = "member_export"


@dataclass(frozen=True, slots=True)
class Section:
    """One list of the document: rows of ``model`` about the member, in id order."""

    name: str
    model: type[Model]
    # Python field names, written in camelCase.
    fields: tuple[str, ...]
    # The filter that finds the member's rows.
    member_path: str = "member_id"


SECTIONS: tuple[Section, ...] = (
    Section("facts", MemberFact, ("key", "value")),
    Section(
        "ledger",
        PointsLedgerEntry,
        (
            "id",
            "delta",
            "kind",
            "reason",
            "source",
            "idempotency_key",
            "balance_after",
            "created_at",
        ),
    ),
    Section(
        "events",
        Event,
        (
            "id",
            "type",
            "occurred_at",
            "amount",
            "attributes",
            "idempotency_key",
            "points",
            "growth",
            "reversed_amount",
            "reversed_points",
            "reversed_growth",
            "recorded_at",
        ),
    ),
    Section(
        "eventReversals",
        EventReversal,
        (
            "id",
            "event_id",
            "amount",
            "points",
            "growth",
            "points_not_recovered",
            "reason",
            "created_at",
        ),
        member_path="event__member_id",
    ),
    Section("activeDays", MemberActiveDay, ("day",)),
    Section(
        "taskProgress",
        TaskProgressRow,
        (
            "task__code",
            "window_key",
            "count",
            "total",
            "days",
            "streak",
            "last_day",
            "completions",
            "updated_at",
        ),
    ),
    Section(
        "taskCompletions",
        TaskCompletion,
        ("task__code", "window_key", "event_id", "points", "growth", "completed_at"),
    ),
    Section("badges", MemberBadge, ("badge__code", "badge__name", "level", "earned_at")),
    Section(
        "tierHistory",
        TierChange,
        ("from_tier__code", "to_tier__code", "reason", "ladder_version__number", "changed_at"),
    ),
    Section(
        "tierEvaluations",
        TierEvaluationMember,
        (
            "evaluation",
            "step",
            "from_tier__code",
            "to_tier__code",
            "growth",
            "retention_threshold",
            "at",
        ),
    ),
    Section(
        "benefitGrants",
        BenefitGrant,
        (
            "benefit__code",
            "benefit__name",
            "source",
            "source_ref",
            "tier_code",
            "valid_from",
            "valid_to",
            "status",
            "used_at",
        ),
    ),
    Section(
        "redemptions",
        Redemption,
        (
            "id",
            "reward__code",
            "reward__name",
            "points",
            "idempotency_key",
            "created_at",
            "status",
            "coupon__code",
            "cancelled_at",
            "cancel_reason",
        ),
    ),
    Section(
        "pendingPoints",
        PendingPoints,
        ("id", "event_id", "points", "reason", "status", "release_at", "created_at", "released_at"),
    ),
    Section(
        "notifications",
        Notification,
        ("id", "kind", "title", "body", "data", "created_at", "read_at"),
    ),
    Section(
        "leaderboardScores",
        LeaderboardScore,
        ("metric", "period_key", "score", "reached_at"),
    ),
)

PROFILE = (
    "id",
    "external_id",
    "display_name",
    "birthday",
    "time_zone",
    "locale",
    "marketing_opt_out",
    "joined_at",
    "points_balance",
    "growth",
    "lifetime_points",
    "created_at",
    "updated_at",
    "deactivated_at",
    "deactivation_reason",
    "erased_at",
)


def _camel(name: str) -> str:
    head, *rest = name.replace("__", "_").split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot write {type(value).__name__} in an export")


def _json(value: Any) -> str:
    return json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"))


def _row(fields: tuple[str, ...], values: dict[str, Any]) -> dict[str, Any]:
    return {_camel(name): values[name] for name in fields}


@dataclass(slots=True)
class Tally:
    """How many rows a document has written so far (an export's progress)."""

    rows: int = 0


async def member_document(
    member_id: int, *, now: datetime, tally: Tally | None = None
) -> AsyncIterator[str]:
    """The member's document, in chunks of JSON text (one per page of a section).
    ``NotFound`` before the first chunk when there is no such member."""
    tally = tally if tally is not None else Tally()
    member = await get_or_not_found(Member, member_id)
    tier = await member.tier
    profile = _row(PROFILE, {name: getattr(member, name) for name in PROFILE})
    profile["tier"] = tier.code
    standing = await LeaderboardMember.get_or_none(member_id=member_id)
    head = {
        "format": FORMAT,
        "generatedAt": now,
        "member": profile,
        "leaderboardStanding": None
        if standing is None
        else {
            "visible": standing.visible,
            "flaggedAt": standing.flagged_at,
            "flagReason": standing.flag_reason,
        },
    }
    yield _json(head)[:-1]
    for section in SECTIONS:
        yield f',"{section.name}":['
        first = True
        async for page in _pages(section, member_id):
            tally.rows += len(page)
            text = ",".join(_json(_row(section.fields, row)) for row in page)
            yield text if first else "," + text
            first = False
        yield "]"
    yield ',"audit":['
    first = True
    async for entries in _audit_pages(member_id):
        tally.rows += len(entries)
        text = ",".join(_json(e) for e in entries)
        yield text if first else "," + text
        first = False
    yield "]}"


async def _pages(section: Section, member_id: int) -> AsyncIterator[list[dict[str, Any]]]:
    after = 0
    while True:
        rows = (
            await section.model.filter(**{section.member_path: member_id}, id__gt=after)
            .order_by("id")
            .limit(PAGE)
            .values(*dict.fromkeys(("id", *section.fields)))
        )
        if not rows:
            return
        yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["id"]


async def _audit_pages(member_id: int) -> AsyncIterator[list[dict[str, Any]]]:
    """The audit entries about the member: what was done, when, by which role (staff's own
    names are theirs, not the member's, and are left out)."""
    after = 0
    while True:
        rows = (
            await AuditEntry.filter(target_type="Member", target_id=str(member_id), id__gt=after)
            .order_by("id")
            .limit(PAGE)
            .values("id", "action", "actor_role", "before", "after", "at")
        )
        if not rows:
            return
        yield [_row(("action", "actor_role", "before", "after", "at"), r) for r in rows]
        if len(rows) < PAGE:
            return
        after = rows[-1]["id"]


# --- export jobs ----------------------------------------------------------------------


async def request_export(*, member_id: int, actor: Actor, now: datetime) -> MemberExport:
    """Queue an export of the member's data (audited ``member.export``); the job builds it.
    An erased member has nothing left to export: ``InvalidInput`` on ``id``."""
    async with in_transaction() as conn:
        member = await get_or_not_found(Member, member_id, conn=conn)
        if member.erased_at is not None:
            raise InvalidInput.single("id", "the member's data was erased: nothing to export")
        async with audited(
            conn,
            actor=actor,
            action="member.export",
            target_type="Member",
            target_id=member_id,
            now=now,
        ) as change:
            export = await MemberExport.create(
                member_id=member_id,
                status=MemberExportStatus.QUEUED,
                requested_by=actor.subject,
                requested_role=actor.role,
                requested_at=now,
                using_db=conn,
            )
            change.before = None
            change.after = {"export_id": export.id}
    return export


async def record_direct_export(*, member_id: int, actor: Actor, now: datetime) -> None:
    """Audit an export written straight to a file (``laurel members export``), as
    ``member.export`` like one asked for through the API."""
    async with in_transaction() as conn:
        await get_or_not_found(Member, member_id, conn=conn)
        async with audited(
            conn,
            actor=actor,
            action="member.export",
            target_type="Member",
            target_id=member_id,
            now=now,
        ) as change:
            change.before, change.after = None, {"export_id": None}


Heartbeat = Callable[[], Awaitable[None]]


async def build_exports(
    *, clock: Callable[[], datetime], heartbeat: Heartbeat | None = None
) -> dict[str, Any]:
    """The job: delete expired exports, then build every queued one (and finish any whose
    worker died), each once across workers. Returns what it did."""
    now = clock()
    expired = await MemberExport.filter(expires_at__lte=now).delete()
    built = failed = 0
    pending = [
        export.id
        for export in await MemberExport.filter(
            Q(status=MemberExportStatus.QUEUED) | Q(status=MemberExportStatus.RUNNING)
        )
        .order_by("id")
        .only("id")
    ]
    for export_id in pending:
        try:
            done = await run_slot(
                name=RUN_NAME,
                slot=str(export_id),
                work=partial(_build, export_id, clock=clock),
                now=clock(),
                clock=clock,
            )
        except Exception as exc:
            failed += 1
            logger.exception("member export failed", extra={"fields": {"export": export_id}})
            await MemberExport.filter(id=export_id).update(
                status=MemberExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:500]
            )
            continue
        if done is not None:
            built += 1
        if heartbeat is not None:
            await heartbeat()
    return {"built": built, "failed": failed, "expired": expired}


async def _build(
    export_id: int, beat: Heartbeat, *, clock: Callable[[], datetime]
) -> dict[str, Any]:
    export = await MemberExport.get_or_none(id=export_id)
    if export is None:  # the member was erased meanwhile
        return {"export": export_id, "items": 0, "bytes": 0}
    # A run taken over from a dead worker starts the document again.
    await MemberExportPart.filter(export_id=export_id).delete()
    await MemberExport.filter(id=export_id).update(
        status=MemberExportStatus.RUNNING, items=0, size_bytes=0
    )
    buffer: list[str] = []
    buffered = seq = size = 0
    tally = Tally()

    async def flush() -> None:
        nonlocal buffered, seq
        body = "".join(buffer)
        buffer.clear()
        buffered = 0
        async with in_transaction() as conn:
            await MemberExportPart.create(export_id=export_id, seq=seq, body=body, using_db=conn)
            await (
                MemberExport.filter(id=export_id)
                .using_db(conn)
                .update(items=tally.rows, size_bytes=size)
            )
        seq += 1
        await beat()

    async for chunk in member_document(export.member_id, now=clock(), tally=tally):
        buffer.append(chunk)
        encoded = len(chunk.encode())
        buffered += encoded
        size += encoded
        if buffered >= PART_BYTES:
            await flush()
    await flush()
    now = clock()
    await MemberExport.filter(id=export_id).update(
        status=MemberExportStatus.DONE,
        finished_at=now,
        expires_at=now + KEEP,
        items=tally.rows,
        size_bytes=size,
    )
    return {"export": export_id, "items": tally.rows, "bytes": size}


async def export_parts(export_id: int) -> AsyncIterator[str]:
    """The stored document of a finished export, part by part (one statement each)."""
    seq = -1
    while True:
        part = (
            await MemberExportPart.filter(export_id=export_id, seq__gt=seq)
            .order_by("seq")
            .first()
            .values("seq", "body")
        )
        if part is None:
            return
        seq = part["seq"]
        yield part["body"]
