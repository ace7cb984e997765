"""Database wiring: the Tortoise configuration and a connection scope for scripts and jobs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations

from app.config import DEFAULT_DATABASE_URL, Settings
from app.models import Member

APP_LABEL = "laurel"


def connection_name(database_url: str) -> str:
    """The connection is named after its dialect, not "default".

    Tortoise caches prepared INSERT/DELETE statements per connection name for the life of
    the process; two databases of different dialects under one name (the test suite runs
    SQLite and PostgreSQL in one process) would reuse each other's SQL.
    """
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


async def _keep_session(connection: Any) -> None:
    """The PostgreSQL pool's ``reset``: nothing to send.

    By default asyncpg's pool sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
    *; RESET ALL`` on every release — one more round trip per transaction and per
    statement run outside one. Given a ``reset`` callable it calls that instead (after
    rolling back any transaction left open itself). Laurel sets no session state, keeps no
    session-level advisory lock (the relay's is transaction-scoped) and listens on no
    pooled connection: there is nothing to reset.
    """


def tortoise_config(database_url: str) -> dict[str, Any]:
    name = connection_name(database_url)
    connection: str | dict[str, Any] = database_url
    if name == "postgres":
        # Tortoise hands credentials it does not know to asyncpg.create_pool as they are.
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = _keep_session
    return {
        "connections": {name: connection},
        "apps": {
            APP_LABEL: {
                "models": ["app.models"],
                "migrations": "app.migrations",
                "default_connection": name,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not the folder it lives in (``var/`` on a fresh clone)."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


# For Tortoise's own CLI (`tortoise makemigrations`), named in pyproject's [tool.tortoise].
TORTOISE_ORM = tortoise_config(os.environ.get("LAUREL_DATABASE_URL", DEFAULT_DATABASE_URL))


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Open the ORM for the app's lifespan, a CLI command, a worker or a test; close it after.

    An explicit context rather than ``RegisterTortoise``: the same scope serves every entry
    point, and leaving it restores whatever context was current (tests open many in turn).
    The context is also the global fallback, because uvicorn runs the lifespan in another
    task than the requests.
    """
    ensure_sqlite_directory(settings.database_url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        yield ctx


async def open_for_process(settings: Settings) -> TortoiseContext:
    """Open the ORM as this process's global context, not bound to the calling task.

    For long-lived processes whose start and stop run in different tasks (the arq
    worker's startup and shutdown hooks): a context entered with ``async with`` must be
    left in the same task. Close it with ``await context.close_connections()``.
    """
    ensure_sqlite_directory(settings.database_url)
    context = TortoiseContext()
    # Current only while it initialises (in this task); the global fallback it sets stays.
    with context:
        await context.init(
            config=tortoise_config(settings.database_url), _enable_global_fallback=True
        )
    return context


async def migrate(settings: Settings) -> None:
    """Apply every pending migration with Tortoise's migration executor."""
    ensure_sqlite_directory(settings.database_url)
    async with TortoiseContext():
        await run_migrations(config=tortoise_config(settings.database_url))


def sql(conn: BaseDBAsyncClient, statement: str) -> str:
    """``statement`` written with ``?`` placeholders, in the connection's dialect
    (PostgreSQL numbers them: ``$1, $2, ...``)."""
    if conn.capabilities.dialect != "postgres":
        return statement
    parts = statement.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def values_list(
    conn: BaseDBAsyncClient, rows: Sequence[Sequence[object]], casts: Sequence[str]
) -> tuple[str, list[object]]:
    """``VALUES (?, ...), ...`` of ``rows`` and its parameters. PostgreSQL is told each
    column's type (``casts``): a VALUES list has no column types to infer them from."""
    postgres = conn.capabilities.dialect == "postgres"
    marks = ", ".join(f"?::{c}" if postgres else "?" for c in casts)
    params = [value for row in rows for value in row]
    return "VALUES " + ", ".join(f"({marks})" for _ in rows), params


def utc(at: datetime) -> datetime:
    """A moment as a parameter: SQLite compares timestamps as the UTC text it stores, so a
    moment with another offset must be written in UTC too."""
    return at.astimezone(UTC)


def connection() -> BaseDBAsyncClient:
    """The client of the open database, for the few statements written as raw SQL."""
    return Member._meta.db


async def ping() -> None:
    """One round trip to the database; raises when it cannot be reached."""
    await connection().execute_query("SELECT 1")
