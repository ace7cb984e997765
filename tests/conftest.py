"""Fixtures: a clean database per test on SQLite and PostgreSQL, the app, an HTTP client.

``settings`` is parametrised over both backends; every test that touches the database
runs twice. Each backend is migrated once per session with the real migrations, then
reset per test (SQLite: a fresh copy of the migrated file; PostgreSQL: TRUNCATE of every
table in a database created for this session).
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, closing
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app import db
from app.auth import Role
from app.config import Settings
from app.main import create_app
from app.models import Member
from tests import backing_services as services
from tests import clock as test_clock
from tests.clock import TestClock
from tests.factories import ClientAs, bearer


def _make_settings(database_url: str, **overrides: object) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=None,
        jwt_secret="test-secret-" + "x" * 32,
        load_demo=False,
        log_level="WARNING",
        # The relay's polling would add statements to tests that count them; the tests
        # of live updates turn it on.
        relay_outbox=False,
        # Tests run jobs themselves, at the times they choose.
        run_jobs_in_process=False,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "laurel.sqlite3"
    asyncio.run(db.migrate(_make_settings(f"sqlite://{path}")))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    problem = services.postgres_problem()
    if problem:
        services.unavailable("PostgreSQL", problem)
    import asyncpg

    name = f"laurel_test_{uuid.uuid4().hex[:12]}"
    admin_url = services.POSTGRES_URL

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    try:
        asyncio.run(db.migrate(_make_settings(url)))
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_postgres(url: str) -> None:
    """Empty every table, then put back the rows the data migrations seed."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'tortoise_migrations'"
        )
        names = ", ".join(f'"{r["tablename"]}"' for r in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        for statement in _seed_sql("postgres"):
            await conn.execute(statement)
    finally:
        await conn.close()


def _seed_sql(dialect: str) -> list[str]:
    """What the data migrations seed: the event catalogue, then the programme stamp's row."""
    event_types = importlib.import_module("app.migrations.0003_seed_event_types")
    return [*event_types.seed_sql(dialect), *_fresh_stamp_sql(dialect)]


def _fresh_stamp_sql(dialect: str) -> list[str]:
    """The programme stamp's row with a new random stamp. Every test's database is a new
    programme: a stamp that a process cached a programme under in an earlier test (the
    ORM's connection is named after the dialect, the same in every test) must not come
    back."""
    stamp: list[str] = importlib.import_module("app.migrations.0021_programme_stamp").seed_sql(
        dialect
    )
    return stamp


def _fresh_sqlite_copy(template: Path, path: Path) -> None:
    """A copy of the migrated file under a stamp of its own (the template's stamp would be
    the same in every test)."""
    shutil.copyfile(template, path)
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in _fresh_stamp_sql("sqlite"):
            conn.execute(statement)


@pytest.fixture(autouse=True)
def clock() -> Iterator[TestClock]:
    """A fresh test clock for every test, shared by the factories and the app."""
    fresh = TestClock()
    test_clock.current = fresh
    yield fresh
    test_clock.current = TestClock()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "laurel.sqlite3"
        _fresh_sqlite_copy(template, path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate_postgres(url))
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return _make_settings(database_url)


@pytest.fixture
def postgres_settings(postgres_database: str) -> Settings:
    """Settings on an emptied PostgreSQL database, for tests that are about PostgreSQL only
    (several processes sharing one database)."""
    asyncio.run(_truncate_postgres(postgres_database))
    return _make_settings(postgres_database)


@pytest.fixture
async def orm(settings: Settings) -> AsyncIterator[None]:
    """The ORM connected to the test database, for tests that call services directly."""
    async with db.connect(settings):
        yield


@pytest.fixture
async def app(settings: Settings, clock: TestClock) -> AsyncIterator[Starlette]:
    """The real ASGI app with its lifespan running (which connects the ORM), on the test's
    clock."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client_as(app: Starlette, settings: Settings) -> AsyncIterator[ClientAs]:
    """Signs in to the app: ``await client_as(Role.MARKETER)``, ``await client_as(Role.MEMBER,
    member)`` give an HTTP client carrying a token of that role minted now (a member's token
    names the member); ``await client_as(None)`` an anonymous one; ``headers=`` adds others.
    Every client made is closed when the test ends."""
    async with AsyncExitStack() as opened:

        async def sign_in(
            role: Role | None,
            member: Member | None = None,
            *,
            headers: dict[str, str] | None = None,
        ) -> httpx.AsyncClient:
            token = {} if role is None else bearer(settings, role, member_id=_id_of(member))
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://laurel.test",
                headers=token | (headers or {}),
            )
            return await opened.enter_async_context(http)

        yield sign_in


def _id_of(member: Member | None) -> int | None:
    return None if member is None else member.id


@pytest.fixture
async def client(client_as: ClientAs) -> httpx.AsyncClient:
    """An HTTP client signed in as an admin (role tests sign in as others with client_as)."""
    return await client_as(Role.ADMIN)


@pytest.fixture
def redis_url() -> str:
    problem = services.redis_problem()
    if problem:
        services.unavailable("Redis", problem)
    return services.REDIS_URL


@pytest.fixture
async def marketer(client_as: ClientAs) -> httpx.AsyncClient:
    """A client of the app signed in as a marketer."""
    return await client_as(Role.MARKETER)
