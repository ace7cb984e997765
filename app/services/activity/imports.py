"""Bulk import of members and events from CSV files, shared by ``laurel import`` and the
``import_csv`` job.

A file is streamed, never held in memory: rows are read, checked and sent on in chunks —
events through :func:`app.services.activity.events.record_events` (one transaction per chunk of up
to ``MAX_BATCH``), members as one multi-row ``INSERT … ON CONFLICT (external_id) DO
NOTHING`` with their enrolment rows in ``tier_change``. Running a file again credits
nothing twice: an event is recorded once per ``idempotency_key`` (the column is
required), a member once per ``external_id``; what was recorded before counts as a
duplicate. So an import that stopped half way (a crash, Ctrl-C) is resumed by running it
again.

Rows that cannot be recorded are written to a report beside the file
(``FILE.rejected.csv``): the row's line in the file, the kind of failure, the reason, and
the row's own cells, so the report can be corrected and imported as it is (an import
ignores the report's ``line``, ``error`` and ``reason`` columns). A file that cannot be
imported at all — missing, unreadable, a header that is not the expected one — raises
:class:`ImportRefused` before anything is written.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from app.db import sql
from app.models import TierChangeReason
from app.services.activity.events import MAX_BATCH, EventInput, EventPolicy, Recorded, record_events
from app.services.members.enrollment import announce_enrolments
from app.services.notifications.outbox import outbox_written
from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    ProgrammeNotConfigured,
    ServiceError,
)
from app.services.tiers.ladder import base_tier
from gamification.members import check_enrollment

Kind = Literal["members", "events"]

EVENT_COLUMNS = (
    "idempotency_key",
    "external_member_id",
    "member_id",
    "type",
    "occurred_at",
    "amount",
    "attributes",
)
MEMBER_COLUMNS = ("external_id", "display_name", "birthday", "joined_at")
# Written first in a report of rejected rows, and skipped when a report is imported.
REPORT_COLUMNS = ("line", "error", "reason")
# Members per INSERT: 10 parameters each, well under both databases' limits.
MEMBER_CHUNK = 1_000
# Rejections kept in memory for a job's result (the report file has them all).
KEPT_REJECTIONS = 100
# The largest cell read (attributes are at most 4 KiB as JSON; more is a broken file).
MAX_CELL_CHARS = 64 * 1024


class ImportRefused(ServiceError):
    """The file cannot be imported at all (nothing was written)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    error: str  # the failure's name as the schema gives it, or BadRow for the CSV itself
    reason: str


@dataclass(frozen=True, slots=True)
class ImportProgress:
    rows: int  # rows read so far
    bytes_read: int
    total_bytes: int


Progress = Callable[[ImportProgress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: Kind
    path: Path
    rejected_path: Path
    read: int
    recorded: int
    duplicates: int
    rejected: int
    seconds: float
    # The first KEPT_REJECTIONS rejections, in the order they were found.
    rejections: tuple[Rejection, ...] = ()

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        line = (
            f"{self.kind}: read {self.read:,}, recorded {self.recorded:,}, "
            f"duplicates {self.duplicates:,}, rejected {self.rejected:,} "
            f"in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)"
        )
        if self.rejected:
            line += f"; rejected rows in {self.rejected_path}"
        return line

    def as_result(self) -> dict[str, Any]:
        """JSON-safe, for a job's recorded result."""
        return {
            "kind": self.kind,
            "path": str(self.path),
            "rejected_path": str(self.rejected_path),
            "read": self.read,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "rejections": [[r.line, r.error, r.reason] for r in self.rejections],
        }


def rejected_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".rejected.csv")


# --- events ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    line: int
    cells: list[str]
    event: EventInput


@dataclass(slots=True)
class _Chunk:
    rows: list[_Row] = field(default_factory=list)


async def import_events(
    path: Path,
    *,
    policy: EventPolicy,
    clock: Callable[[], datetime],
    rejected_path: Path | None = None,
    in_flight: int = 1,
    chunk_size: int = MAX_BATCH,
    progress: Progress | None = None,
) -> ImportReport:
    """Record the events of a CSV file (columns: :data:`EVENT_COLUMNS`), a chunk of up to
    ``chunk_size`` rows per ``record_events`` call, dated ``clock()`` when it is sent.

    ``in_flight`` chunks are recorded at once (PostgreSQL: 2 overlap one chunk's round
    trips with the next one's work; SQLite has one writer, keep 1). Rows go to a lane by
    their member reference, so one member's events are always recorded in file order and
    the end state is that of the events sent one by one.
    """
    if not 1 <= chunk_size <= MAX_BATCH:
        raise ValueError(f"chunk_size must be within 1..{MAX_BATCH}")
    if in_flight < 1:
        raise ValueError("in_flight must be at least 1")
    started = time.monotonic()
    with _CsvSource(path, columns=EVENT_COLUMNS, required=_event_header_problems) as source:
        with _RejectedRows(rejected_path or rejected_path_for(path), source) as report:
            tally = _Tally()
            lanes = _Lanes(
                in_flight,
                record=lambda chunk: _record_chunk(
                    chunk, policy=policy, clock=clock, tally=tally, report=report
                ),
            )
            async with lanes:
                buffers = [_Chunk() for _ in range(in_flight)]
                for line, cells in source.rows(report):
                    parsed = _event_of(source.cells_by_name(cells))
                    if isinstance(parsed, str):
                        report.add(line, cells, "BadRow", parsed)
                        continue
                    lane = _lane_of(parsed, in_flight)
                    buffers[lane].rows.append(_Row(line, cells, parsed))
                    if len(buffers[lane].rows) >= chunk_size:
                        await lanes.send(lane, buffers[lane])
                        buffers[lane] = _Chunk()
                        if progress is not None:
                            await progress(source.progress())
                for lane, chunk in enumerate(buffers):
                    if chunk.rows:
                        await lanes.send(lane, chunk)
            if progress is not None:
                await progress(source.progress())
            return tally.report("events", path, report, seconds=time.monotonic() - started)


def _event_header_problems(names: Sequence[str]) -> list[str]:
    required = ("idempotency_key", "type", "occurred_at")
    problems = [f"lacks the {c} column" for c in required if c not in names]
    if "external_member_id" not in names and "member_id" not in names:
        problems.append("needs an external_member_id or a member_id column")
    return problems


def _lane_of(event: EventInput, lanes: int) -> int:
    if lanes == 1:
        return 0
    ref = event.external_member_id if event.member_id is None else f"#{event.member_id}"
    return zlib.crc32((ref or "").encode()) % lanes


def _event_of(cells: dict[str, str]) -> EventInput | str:
    """The row as an event, or what is wrong with its cells (by CSV column name; what the
    service refuses later is named as in the schema)."""
    problems: list[str] = []
    key = cells.get("idempotency_key", "")
    if not key.strip():
        problems.append("idempotency_key: required")
    external = cells.get("external_member_id", "").strip() or None
    member_text = cells.get("member_id", "").strip()
    member_id: int | None = None
    if member_text:
        try:
            member_id = int(member_text)
            if member_id < 1:
                raise ValueError
        except ValueError:
            problems.append(f"member_id: {member_text!r} is not a member number")
    if (external is None) == (not member_text):
        problems.append("give exactly one of external_member_id and member_id")
    type_ = cells.get("type", "").strip()
    if not type_:
        problems.append("type: required")
    occurred_at = _moment(cells.get("occurred_at", ""), "occurred_at", problems, required=True)
    amount = Decimal(0)
    amount_text = cells.get("amount", "").strip()
    if amount_text:
        try:
            amount = Decimal(amount_text)
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"amount: {amount_text!r} is not a number")
            amount = Decimal(0)
    attributes: dict[str, Any] | None = None
    attributes_text = cells.get("attributes", "").strip()
    if attributes_text:
        try:
            value = json.loads(attributes_text)
        except (ValueError, RecursionError):
            problems.append("attributes: not valid JSON")
        else:
            if isinstance(value, dict):
                attributes = value
            else:
                problems.append("attributes: must be a JSON object")
    if problems or occurred_at is None:
        return "; ".join(problems)
    return EventInput(
        type=type_,
        occurred_at=occurred_at,
        idempotency_key=key,
        member_id=member_id,
        external_member_id=external if member_id is None else None,
        amount=amount,
        attributes=attributes,
    )


def _moment(text: str, column: str, problems: list[str], *, required: bool) -> datetime | None:
    text = text.strip()
    if not text:
        if required:
            problems.append(f"{column}: required")
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{column}: {text!r} is not an ISO 8601 date and time")
        return None
    if moment.tzinfo is None:
        problems.append(f"{column}: {text!r} needs a time zone offset (e.g. +08:00 or Z)")
        return None
    return moment


async def _record_chunk(
    chunk: _Chunk,
    *,
    policy: EventPolicy,
    clock: Callable[[], datetime],
    tally: _Tally,
    report: _RejectedRows,
) -> None:
    results = await record_events(
        [row.event for row in chunk.rows], dry_run=False, policy=policy, now=clock()
    )
    for row, result in zip(chunk.rows, results, strict=True):
        if isinstance(result, Recorded):
            if result.duplicate:
                tally.duplicates += 1
            else:
                tally.recorded += 1
        else:
            error, reason = _failure(result)
            report.add(row.line, row.cells, error, reason)


def _failure(error: ServiceError) -> tuple[str, str]:
    """A service failure as the report names it: the schema's type name and a reason."""
    if isinstance(error, NotFound):
        what = {"Member": "member", "EventType": "event type"}.get(error.kind, error.kind)
        return "NotFound", f"unknown {what} {error.key!r}"
    if isinstance(error, InvalidInput):
        return "ValidationFailed", "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    if isinstance(error, IdempotencyConflict):
        return (
            "IdempotencyConflict",
            f"idempotency key {error.key!r} was already used for a different event",
        )
    if isinstance(error, ProgrammeNotConfigured):
        return "ProgrammeNotConfigured", str(error)
    return type(error).__name__, str(error)


class _Lanes:
    """Up to ``count`` chunks recorded side by side, one per lane: a lane's next chunk
    starts when its previous one is done, so a lane's chunks are recorded in order and
    memory stays bounded whatever the file's size."""

    def __init__(
        self, count: int, *, record: Callable[[_Chunk], Coroutine[Any, Any, None]]
    ) -> None:
        self.record = record
        self.running: list[asyncio.Task[None] | None] = [None] * count

    async def __aenter__(self) -> _Lanes:
        return self

    async def send(self, lane: int, chunk: _Chunk) -> None:
        previous = self.running[lane]
        if previous is not None:
            await previous
        self.running[lane] = asyncio.create_task(self.record(chunk))
        # Let it start (up to its first round trip) before the next chunk is read.
        await asyncio.sleep(0)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tasks = [t for t in self.running if t is not None]
        if exc is None:
            try:
                for task in tasks:
                    await task
                return
            except BaseException:
                tasks = [t for t in tasks if not t.done()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- members ---------------------------------------------------------------------------


@dataclass(slots=True)
class _MemberRow:
    line: int
    cells: list[str]
    external_id: str
    display_name: str
    birthday: date | None
    joined_at: datetime


async def import_members(
    path: Path,
    *,
    clock: Callable[[], datetime],
    zone: ZoneInfo,
    rejected_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Enrol the members of a CSV file (columns: :data:`MEMBER_COLUMNS`) on the base tier,
    as :func:`app.services.members.enrollment.enroll_member` does one by one: each with its
    enrolment row in ``tier_change``, dated when the member joined (``joined_at``, or
    ``clock()`` when the cell is empty). An ``external_id`` enrolled before (or earlier in
    the file) is a duplicate and is left as it is."""
    started = time.monotonic()
    with _CsvSource(path, columns=MEMBER_COLUMNS, required=_member_header_problems) as source:
        now = clock()
        try:
            await base_tier(now=now)
        except ProgrammeNotConfigured as error:
            raise ImportRefused(f"cannot enrol members: {error}") from error
        with _RejectedRows(rejected_path or rejected_path_for(path), source) as report:
            tally = _Tally()
            chunk: list[_MemberRow] = []
            for line, cells in source.rows(report):
                parsed = _member_of(
                    line, cells, source.cells_by_name(cells), now=clock(), zone=zone
                )
                if isinstance(parsed, Rejection):
                    report.add(line, cells, parsed.error, parsed.reason)
                    continue
                chunk.append(parsed)
                if len(chunk) >= MEMBER_CHUNK:
                    await _enrol_chunk(chunk, now=clock(), tally=tally)
                    chunk = []
                    if progress is not None:
                        await progress(source.progress())
            if chunk:
                await _enrol_chunk(chunk, now=clock(), tally=tally)
            if progress is not None:
                await progress(source.progress())
            return tally.report("members", path, report, seconds=time.monotonic() - started)


def _member_header_problems(names: Sequence[str]) -> list[str]:
    return [f"lacks the {c} column" for c in ("external_id", "display_name") if c not in names]


def _member_of(
    line: int, cells: list[str], named: dict[str, str], *, now: datetime, zone: ZoneInfo
) -> _MemberRow | Rejection:
    problems: list[str] = []
    birthday: date | None = None
    birthday_text = named.get("birthday", "").strip()
    if birthday_text:
        try:
            birthday = date.fromisoformat(birthday_text)
        except ValueError:
            problems.append(f"birthday: {birthday_text!r} is not a date (YYYY-MM-DD)")
    joined_at = _moment(named.get("joined_at", ""), "joined_at", problems, required=False)
    if problems:
        return Rejection(line, "BadRow", "; ".join(problems))
    external_id = named.get("external_id", "")
    display_name = named.get("display_name", "")
    rules = check_enrollment(
        external_id=external_id,
        display_name=display_name,
        birthday=birthday,
        joined_at=joined_at,
        now=now,
        today=now.astimezone(zone).date(),
    )
    if rules:
        return Rejection(
            line, "ValidationFailed", "; ".join(f"{p.field}: {p.message}" for p in rules)
        )
    return _MemberRow(line, cells, external_id, display_name.strip(), birthday, joined_at or now)


MEMBER_INSERT_COLUMNS = (
    "external_id",
    "display_name",
    "birthday",
    "joined_at",
    "tier_id",
    "points_balance",
    "growth",
    "lifetime_points",
    "created_at",
    "updated_at",
)


async def _enrol_chunk(rows: list[_MemberRow], *, now: datetime, tally: _Tally) -> None:
    """One transaction: the members not enrolled yet, then their enrolment rows."""
    async with in_transaction() as conn:
        tier = await base_tier(now=now, using_db=conn)
        marks = "(" + ", ".join("?" * len(MEMBER_INSERT_COLUMNS)) + ")"
        params: list[Any] = []
        for row in rows:
            params += [
                row.external_id,
                row.display_name,
                row.birthday,
                row.joined_at.astimezone(UTC),
                tier.id,
                0,
                0,
                0,
                now.astimezone(UTC),
                now.astimezone(UTC),
            ]
        # execute_query_dict: tortoise's execute_query drops RETURNING rows on asyncpg.
        created = await conn.execute_query_dict(
            sql(
                conn,
                f"INSERT INTO member ({', '.join(MEMBER_INSERT_COLUMNS)}) VALUES "
                + ", ".join(marks for _ in rows)
                + " ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id",
            ),
            params,
        )
        joined: dict[str, datetime] = {}
        for row in rows:  # the first row of an id is the one inserted
            joined.setdefault(row.external_id, row.joined_at)
        if created:
            await conn.execute_query(
                sql(
                    conn,
                    "INSERT INTO tier_change (member_id, from_tier_id, to_tier_id, reason, "
                    "ladder_version_id, changed_at) VALUES "
                    + ", ".join("(?, NULL, ?, ?, ?, ?)" for _ in created),
                ),
                [
                    value
                    for r in created
                    for value in (
                        r["id"],
                        tier.id,
                        TierChangeReason.ENROLLMENT.value,
                        tier.ladder_version_id,
                        joined[r["external_id"]].astimezone(UTC),
                    )
                ],
            )
            await announce_enrolments(
                conn,
                members=[(int(r["id"]), joined[r["external_id"]]) for r in created],
                tier_code=tier.code,
                source="import",
                now=now,
            )
    if created:
        outbox_written()
    tally.recorded += len(created)
    tally.duplicates += len(rows) - len(created)


# --- the file and the report -----------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    recorded: int = 0
    duplicates: int = 0

    def report(
        self, kind: Kind, path: Path, rejected: _RejectedRows, *, seconds: float
    ) -> ImportReport:
        return ImportReport(
            kind=kind,
            path=path,
            rejected_path=rejected.path,
            read=rejected.source.read,
            recorded=self.recorded,
            duplicates=self.duplicates,
            rejected=rejected.count,
            seconds=seconds,
            rejections=tuple(rejected.kept),
        )


class _CsvSource:
    """A CSV file read row by row, its header checked against ``columns``.

    Bytes that are not UTF-8 are kept (as surrogate escapes) so the rest of the row and of
    the file still read; the row they are in is rejected, and the report writes them back
    as they were.
    """

    def __init__(
        self,
        path: Path,
        *,
        columns: Sequence[str],
        required: Callable[[Sequence[str]], list[str]],
    ) -> None:
        self.path = path
        self.columns = columns
        self.required = required
        self.header: list[str] = []
        self.index: dict[str, int] = {}
        self.read = 0  # data rows read, good or bad

    def __enter__(self) -> _CsvSource:
        try:
            self.raw = self.path.open("rb")
            self.total_bytes = self.path.stat().st_size
        except OSError as error:
            raise ImportRefused(f"cannot read {self.path}: {error.strerror or error}") from error
        try:
            self.text = io.TextIOWrapper(
                self.raw, encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
            self.reader = csv.reader(self.text)
            self._read_header()
        except BaseException:
            self.raw.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.text.close()

    def _read_header(self) -> None:
        expected = ", ".join(self.columns)
        try:
            header = next(self.reader, None)
        except (csv.Error, OSError) as error:
            raise ImportRefused(f"{self.path}: cannot read the header: {error}") from error
        if not header or not any(cell.strip() for cell in header):
            raise ImportRefused(f"{self.path} has no header line (expected columns: {expected})")
        if not _is_utf8(header):
            raise ImportRefused(f"{self.path}: the header is not UTF-8 text")
        names = [cell.strip().lower() for cell in header]
        problems: list[str] = []
        unknown = [n for n in names if n not in self.columns and n not in REPORT_COLUMNS]
        if unknown:
            problems.append("has unknown columns " + ", ".join(repr(n) for n in unknown))
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append("names a column twice: " + ", ".join(twice))
        problems += self.required(names)
        if problems:
            raise ImportRefused(
                f"{self.path}: the header "
                + "; ".join(problems)
                + f" (expected columns: {expected})"
            )
        self.header = [n for n in names if n not in REPORT_COLUMNS]
        self.index = {n: i for i, n in enumerate(names) if n not in REPORT_COLUMNS}
        self.width = len(names)

    def rows(self, report: _RejectedRows) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) of each data row whose shape is right; the others are reported.
        The line is where the row starts (a quoted cell may span lines)."""
        reader = self.reader
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                self.read += 1
                report.add(line, [], "BadRow", f"not readable as CSV: {error}")
                continue
            if not cells:
                continue  # a blank line
            self.read += 1
            if len(cells) != self.width:
                hint = " (a quote left open?)" if reader.line_num - line > 1 else ""
                report.add(
                    line,
                    cells,
                    "BadRow",
                    f"has {len(cells)} cells, the header has {self.width}{hint}",
                    raw=True,
                )
                continue
            if not _is_utf8(cells):
                report.add(line, cells, "BadRow", "not UTF-8 text")
                continue
            if any(len(cell) > MAX_CELL_CHARS for cell in cells):
                report.add(line, [], "BadRow", f"a cell is longer than {MAX_CELL_CHARS} chars")
                continue
            yield line, cells

    def cells_by_name(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[i] for name, i in self.index.items()}

    def data_cells(self, cells: list[str]) -> list[str]:
        """The row's cells in the report's order (without a report's own columns)."""
        return [cells[i] for i in self.index.values()]

    def progress(self) -> ImportProgress:
        return ImportProgress(
            rows=self.read, bytes_read=self.raw.tell(), total_bytes=self.total_bytes
        )


def _is_utf8(cells: list[str]) -> bool:
    for cell in cells:
        if not cell.isascii():
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


class _RejectedRows:
    """The report of rejected rows: always written, so it is the last run's (a header
    alone when nothing was rejected)."""

    def __init__(self, path: Path, source: _CsvSource) -> None:
        self.path = path
        self.source = source
        self.count = 0
        self.kept: list[Rejection] = []

    def __enter__(self) -> _RejectedRows:
        try:
            self.file = self.path.open("w", encoding="utf-8", errors="surrogateescape", newline="")
        except OSError as error:
            raise ImportRefused(
                f"cannot write the report of rejected rows {self.path}: {error.strerror or error}"
            ) from error
        self.writer = csv.writer(self.file)
        self.writer.writerow([*REPORT_COLUMNS, *self.source.header])
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def add(
        self, line: int, cells: list[str], error: str, reason: str, *, raw: bool = False
    ) -> None:
        """``cells`` as read (``raw``: as many as the row had, not the header's)."""
        self.count += 1
        if len(self.kept) < KEPT_REJECTIONS:
            self.kept.append(Rejection(line, error, reason))
        if cells and not raw:
            cells = self.source.data_cells(cells)
        self.writer.writerow([line, error, reason, *cells])
