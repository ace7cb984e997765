"""Reading members for the API in as few statements as the answer allows.

A member's tier, tier progress and the ladder they are read against are catalogue data:
they come from the per-process programme snapshot (app/services/programme/snapshot.py), not from
the database on every request. What keeps that exact is the programme stamp, which the
database moves with every catalogue change. Read in the same statement as the member rows,
it names the programme those rows belong to: the snapshot at that stamp holds the tier
each row points to, and costs no statement at all when this process already has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from app import db
from app.models import Member
from app.services.programme.snapshot import Programme, programme_cache
from app.services.programme.stamp import STAMP_SQL

# The stamp's column beside the member's own (no column of member is called that).
_STAMP_COLUMN = "programme_stamp"


@dataclass(frozen=True, slots=True)
class MembersRead:
    """Member rows and the programme stamp read in the same statement."""

    members: list[Member]
    stamp: int | None  # None when no row came back (the stamp rides on the rows)


@cache
def _member_columns() -> str:
    return ", ".join(f'"{column}"' for column in Member._meta.fields_db_projection.values())


def _rows(rows: list[dict[str, Any]]) -> MembersRead:
    stamp = rows[0][_STAMP_COLUMN] if rows else None
    return MembersRead(
        # What the ORM does with its own rows: converts each column as the field says.
        members=[Member._init_from_db(**row) for row in rows],
        stamp=int(stamp) if stamp is not None else None,
    )


async def member_by_id(member_id: int) -> MembersRead:
    """The member (none, or one) and the programme stamp: one statement, written as SQL
    (the query builder would cost more than the round trip on this path)."""
    return await _select('WHERE "id" = ?', [member_id])


async def member_by_external_id(external_id: str) -> MembersRead:
    """The member enrolled under the brand's ``external_id`` (none, or one; for a member
    merged away, the member it was merged into) and the programme stamp, in one statement."""
    return await _select(
        'WHERE "id" IN (SELECT COALESCE(a."merged_into_id", a."id") FROM "member" a '
        'WHERE a."external_id" = ?)',
        [external_id],
    )


async def members_after(*, first: int, after_id: int | None) -> tuple[MembersRead, bool]:
    """Members in id order after ``after_id`` and the programme stamp, in one statement;
    the flag says whether more follow."""
    where, params = ('WHERE "id" > ? ', [after_id]) if after_id is not None else ("", [])
    found = await _select(f'{where}ORDER BY "id" LIMIT ?', [*params, first + 1])
    page = MembersRead(members=found.members[:first], stamp=found.stamp)
    return page, len(found.members) > first


async def _select(rest: str, params: list[object]) -> MembersRead:
    conn = db.connection()
    rows = await conn.execute_query_dict(
        db.sql(
            conn,
            f'SELECT {_member_columns()}, {STAMP_SQL} AS {_STAMP_COLUMN} FROM "member" {rest}',
        ),
        params,
    )
    return _rows(rows)


async def programme_at(stamp: int | None) -> Programme:
    """The programme snapshot at ``stamp`` (read beside member rows), or the current one
    when there is no stamp to go by (one statement when this process has it)."""
    conn = db.connection()
    if stamp is None:
        return await programme_cache.current(conn)
    return await programme_cache.at(conn, stamp)
