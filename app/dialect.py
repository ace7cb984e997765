"""What differs between SQLite and PostgreSQL on the hot paths, in one place.

Statements are written once, with ``?`` placeholders, and this module adapts them: it
numbers the placeholders for PostgreSQL, turns parameters into what each driver stores
(SQLite keeps moments as UTC text and days as ISO text), expands membership tests (``= ANY``
of one array parameter on PostgreSQL, an ``IN`` list on SQLite), allocates primary keys
ahead of the rows that will carry them, and sends a group of statements in as few round
trips as the database allows: PostgreSQL runs reads as JSON-aggregated scalar subqueries of
one ``SELECT`` and writes as data-modifying ``WITH`` clauses of one statement (so a group
costs one round trip whatever its size); SQLite, in process, runs them one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient


@dataclass(slots=True)
class Statement:
    """A statement with ``?`` placeholders and its parameters."""

    sql: str
    params: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Read:
    """A read of a group: ``SELECT columns FROM rest`` whose rows come back as lists."""

    name: str
    columns: str
    rest: str
    params: list[Any]


# The most parameters one SQLite statement is given (SQLite's own limit is 32,766 since 3.32,
# 999 before).
SQLITE_MAX_PARAMETERS = 30_000


def _json_scalar(value: Any) -> str:
    """Moments, days and decimals in JSON, as text PostgreSQL reads back exactly."""
    if isinstance(value, date):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Dialect:
    """The connection's dialect, and the few things that depend on it."""

    __slots__ = ("postgres",)

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.postgres = conn.capabilities.dialect == "postgres"

    @property
    def lock_rows(self) -> str:
        """The clause that locks the rows a SELECT reads until the transaction ends (SQLite
        needs none: it runs one write transaction at a time)."""
        return " FOR UPDATE" if self.postgres else ""

    @property
    def skip_locked(self) -> str:
        """The clause that locks the rows a SELECT reads, passing over those another
        transaction holds (a queue: each taker gets a row of its own)."""
        return " FOR UPDATE SKIP LOCKED" if self.postgres else ""

    # --- parameters ---------------------------------------------------------------------

    def numbered(self, statement: str) -> str:
        """``?`` placeholders as the driver wants them (PostgreSQL: ``$1, $2, ...``)."""
        if not self.postgres:
            return statement
        parts = statement.split("?")
        return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))

    def param(self, value: Any) -> Any:
        """A value as the driver takes it for a column: JSON (a dict or a list) as text;
        on SQLite, moments in UTC, days as ISO text and decimals as text, as it stores them."""
        if isinstance(value, dict | list):
            return self.json(value)
        if self.postgres:
            return value
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    @staticmethod
    def json(value: Any) -> str:
        """``value`` as JSON text: moments and days in ISO 8601, decimals as text.

        orjson writes what ``json.dumps(value, separators=(",", ":"))`` would, UTF-8 left
        unescaped, about seven times faster: a batch of 500 events sends some 10,000 rows
        this way."""
        return orjson.dumps(value, default=_json_scalar, option=orjson.OPT_NON_STR_KEYS).decode()

    def any_of(self, column: str, values: Sequence[Any], type_: str) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``, as SQL and parameters (false when empty)."""
        if not values:
            return "1 = 0", []
        if self.postgres:
            return f"{column} = ANY(?::{type_}[])", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def relation(
        self, rows: Sequence[Sequence[Any]], columns: Sequence[tuple[str, str]]
    ) -> tuple[str, list[Any]]:
        """``rows`` as a relation ``v`` with the named (PostgreSQL: typed) columns, for
        ``UPDATE … FROM``, ``INSERT … SELECT`` and ``IN``. PostgreSQL: one JSON parameter
        whatever the number of rows, so the statement's text (and asyncpg's prepared
        statement) is the same for any batch."""
        names = [name for name, _ in columns]
        if self.postgres:
            spec = ", ".join(f"{name} {type_}" for name, type_ in columns)
            records = [dict(zip(names, row, strict=True)) for row in rows]
            return f"json_to_recordset(?::json) AS v({spec})", [self.json(records)]
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        select = ", ".join(f"column{n} AS {name}" for n, name in enumerate(names, start=1))
        values = ", ".join(marks for _ in rows)
        return (
            f"(SELECT {select} FROM (VALUES {values})) AS v",
            [self.param(value) for row in rows for value in row],
        )

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], conflict: str = ""
    ) -> list[Statement]:
        """``INSERT`` of ``rows`` (plain values: moments, days, decimals, dicts for JSON
        columns). PostgreSQL: one statement of one JSON parameter, typed by the table's own
        row type (``json_populate_recordset``), so no batch is too large for the driver's
        32,767 parameters and the text is the same for any batch; SQLite: multi-row
        ``VALUES``, split under its parameter limit."""
        if not rows:
            return []
        names = ", ".join(columns)
        tail = f" {conflict}" if conflict else ""
        if self.postgres:
            records = [dict(zip(columns, row, strict=True)) for row in rows]
            return [
                Statement(
                    f"INSERT INTO {table} ({names}) SELECT {names} "
                    f"FROM json_populate_recordset(NULL::{table}, ?::json){tail}",
                    [self.json(records)],
                )
            ]
        marks = "(" + ", ".join("?" * len(columns)) + ")"
        per_statement = max(1, SQLITE_MAX_PARAMETERS // len(columns))
        chunks = [rows[at : at + per_statement] for at in range(0, len(rows), per_statement)]
        return [
            Statement(
                f"INSERT INTO {table} ({names}) VALUES {', '.join(marks for _ in chunk)}{tail}",
                [self.param(value) for row in chunk for value in row],
            )
            for chunk in chunks
        ]

    # --- values read back ----------------------------------------------------------------

    @staticmethod
    def read_moment(value: Any) -> datetime:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @staticmethod
    def read_day(value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(str(value)[:10])

    @staticmethod
    def read_json(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    # --- round trips ---------------------------------------------------------------------

    async def rows(self, conn: BaseDBAsyncClient, statement: Statement) -> list[dict[str, Any]]:
        # execute_query_dict: tortoise's execute_query drops RETURNING rows on asyncpg.
        return await conn.execute_query_dict(self.numbered(statement.sql), statement.params)

    async def read_group(
        self,
        conn: BaseDBAsyncClient,
        reads: Iterable[Read],
        *,
        claim: Statement | None = None,
        allocate: dict[str, int] | None = None,
    ) -> dict[str, list[list[Any]]]:
        """The rows of every read, by name, and of ``claim`` (an ``INSERT ... RETURNING``
        run first, its rows under ``"claim"``), and ``allocate[table]`` fresh ids of each
        table under ``"ids:table"``: one round trip on PostgreSQL."""
        reads = list(reads)
        allocate = {table: n for table, n in (allocate or {}).items() if n}
        if not self.postgres:
            found: dict[str, list[list[Any]]] = {
                f"ids:{table}": [[i] for i in await self.allocate_ids(conn, table, n)]
                for table, n in allocate.items()
            }
            if claim is not None:
                found["claim"] = [list(r.values()) for r in await self.rows(conn, claim)]
            for read in reads:
                rows = await self.rows(
                    conn, Statement(f"SELECT {read.columns} FROM {read.rest}", read.params)
                )
                found[read.name] = [list(r.values()) for r in rows]
            return found
        reads += [
            Read(
                f'"ids:{table}"',
                f"nextval(pg_get_serial_sequence('{table}', 'id'))",
                "generate_series(1, ?::int)",
                [n],
            )
            for table, n in allocate.items()
        ]
        sql, params = "", []
        if claim is not None:
            sql, params = f"WITH claim AS ({claim.sql}) ", list(claim.params)
        scalars = [
            f"(SELECT json_agg(r) FROM (SELECT {r.columns} FROM {r.rest}) AS r) AS {r.name}"
            for r in reads
        ]
        if claim is not None:
            scalars.append("(SELECT json_agg(claim) FROM claim) AS claim")
        for read in reads:
            params += read.params
        row = (await self.rows(conn, Statement(sql + "SELECT " + ", ".join(scalars), params)))[0]
        result = {
            name: [list(r.values()) for r in json.loads(value)] if value else []
            for name, value in row.items()
        }
        for table in allocate:
            result[f"ids:{table}"].sort()
        return result

    async def write_group(self, conn: BaseDBAsyncClient, statements: Sequence[Statement]) -> None:
        """Run ``statements`` (INSERT, UPDATE, DELETE; none may touch a row another one
        touches): one round trip on PostgreSQL."""
        statements = [s for s in statements if s.sql]
        if not statements:
            return
        if not self.postgres or len(statements) == 1:
            for statement in statements:
                await conn.execute_query(self.numbered(statement.sql), statement.params)
            return
        clauses = ", ".join(f"w{n} AS ({s.sql})" for n, s in enumerate(statements))
        params = [p for s in statements for p in s.params]
        await conn.execute_query(self.numbered(f"WITH {clauses} SELECT 1"), params)

    async def allocate_ids(self, conn: BaseDBAsyncClient, table: str, count: int) -> list[int]:
        """``count`` fresh primary keys of ``table``, for rows inserted later in this
        transaction with their ids given (so that other rows can name them)."""
        if count == 0:
            return []
        if self.postgres:
            rows = await self.rows(
                conn,
                Statement(
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id "
                    "FROM generate_series(1, ?::int)",
                    [count],
                ),
            )
            return sorted(int(r["id"]) for r in rows)
        # AUTOINCREMENT keeps the largest id handed out in sqlite_sequence; moving it on
        # is a write, so it holds the database's write lock until this transaction ends.
        await self.rows(
            conn,
            Statement(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                [table, table],
            ),
        )
        rows = await self.rows(
            conn,
            Statement(
                f"UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(id), 0) "
                f"FROM {table})) + ? WHERE name = ? RETURNING seq",
                [count, table],
            ),
        )
        last = int(rows[0]["seq"])
        return list(range(last - count + 1, last + 1))
