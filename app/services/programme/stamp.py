"""The programme stamp: how a process learns, cheaply, that its copy of the programme is old.

The programme (event types, growth tasks, badges, ladder versions and tiers, seasons,
benefits and the tier and season benefit matrices) changes a few times a day and is read
by every event, so each process keeps a copy in memory. ``programme_stamp`` holds one row
(migration 0021) whose ``stamp`` the database itself changes:

- By triggers, on every catalogue table, in the transaction of the change. Whoever writes
  (a marketer's mutation, a ladder publish, a job, raw SQL in a console, a process on
  another machine) moves the stamp; nobody has to remember to. A change that rolls back
  takes its new stamp with it; one that commits publishes its rows and its stamp at once.
- To a new random 63-bit value, not a counter. A counter starts again at the same number
  whenever a database is rebuilt (tests TRUNCATE … RESTART IDENTITY, or copy one migrated
  SQLite file for each test), and a copy cached under that number would be served for
  another programme. Two random stamps collide with a chance of about 2**-63.

Reading it is one primary-key lookup (:func:`read_stamp`), or, on the event path, a scalar
subquery (:data:`STAMP_SQL`) in a statement sent anyway. Nothing that recording an event
writes is a catalogue table, so events never move the stamp and never contend for its row.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

# The stamp as a scalar subquery, to embed in a statement that reads something else.
STAMP_SQL = "(SELECT stamp FROM programme_stamp WHERE id = 1)"


class StampMissing(RuntimeError):
    """The stamp row is not there: the migrations have not run (or a reset removed it)."""


async def read_stamp(conn: BaseDBAsyncClient) -> int:
    """The programme's current stamp, read through ``conn`` (inside its transaction, if
    any: the stamp then belongs to what that transaction sees)."""
    rows = await conn.execute_query_dict("SELECT stamp FROM programme_stamp WHERE id = 1")
    if not rows:
        raise StampMissing("programme_stamp has no row; run the migrations (0021)")
    return int(rows[0]["stamp"])
