"""Shared by the bench scripts (imported, never run by `make bench`):

- where the benches' PostgreSQL and Redis are, and the settings a bench and the servers it
  starts run with;
- a throwaway PostgreSQL database beside the one named, dropped afterwards even if the
  bench fails (migrated and connected, if wanted), members bulk-loaded into it, Redis keys
  under a prefix of the run, deleted after;
- the app under ``uvicorn[standard]`` in a subprocess, and ``wrk`` driving it;
- the medians of rounds, and a tally of the SQL statements the ORM sends.

Importing it puts this checkout's root first on ``sys.path``: a bench run as
``python bench/<name>.py`` measures the app beside it, installed or not.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The server a bench creates its database beside (any database of it: the bench's own is
# created next to it and dropped after), and the Redis it uses under a prefix of its own.
POSTGRES_URL = os.environ.get(
    "LAUREL_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LAUREL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-" + "x" * 32
# The demo programme's activity: check-ins and purchases drive its tasks and badges.
EVENT_MIX = {"check_in": 40, "purchase": 40, "share": 10, "review": 6, "referral": 4}


def redis_prefix() -> str:
    """A Redis key prefix no other run shares."""
    return f"laurel-bench-{uuid.uuid4().hex[:8]}:"


def bench_settings(database_url: str, **overrides: Any) -> Settings:
    """The settings a bench's own process uses: warnings only, no demo loaded for it."""
    from app.config import Settings

    given: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": SECRET,
        "load_demo": False,
        "log_level": "WARNING",
    }
    return Settings(**(given | overrides))


def server_env(
    database_url: str, *, redis_url: str | None, redis_prefix: str, **extra: str
) -> dict[str, str]:
    """Production settings, as LAUREL_* variables, for an app server a bench starts;
    ``extra`` adds more (``relay_outbox="true"`` for LAUREL_RELAY_OUTBOX)."""
    env = {
        "LAUREL_ENV": "production",
        "LAUREL_DATABASE_URL": database_url,
        "LAUREL_JWT_SECRET": SECRET,
        "LAUREL_LOAD_DEMO": "false",
        # Warnings only: one info line per request would be the logging's cost, not Laurel's.
        "LAUREL_LOG_LEVEL": "WARNING",
        "LAUREL_REDIS_URL": redis_url or "",
        "LAUREL_REDIS_PREFIX": redis_prefix,
    }
    return env | {f"LAUREL_{name.upper()}": value for name, value in extra.items()}


def settings_of(env: Mapping[str, str]) -> Settings:
    """The Settings a server started with ``env`` (LAUREL_* variables) reads."""
    from app.config import Settings

    return Settings(**{k.removeprefix("LAUREL_").lower(): v for k, v in env.items()})


@asynccontextmanager
async def temporary_postgres(
    admin_url: str = POSTGRES_URL, *, keep: bool = False
) -> AsyncIterator[str]:
    """The URL of a new database beside ``admin_url``, dropped when the block ends (unless
    ``keep``)."""
    name = f"laurel_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        if not keep:
            conn = await asyncpg.connect(admin_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[None]:
    """The database ``settings`` name, migrated, with the ORM connected to it in the block."""
    from app import db

    await db.migrate(settings)
    async with db.connect(settings):
        yield


@asynccontextmanager
async def migrated_postgres(
    admin_url: str = POSTGRES_URL, **overrides: Any
) -> AsyncIterator[Settings]:
    """A throwaway database beside ``admin_url``, migrated and connected: the bench's
    settings for it (``overrides`` on bench_settings)."""
    async with temporary_postgres(admin_url) as url:
        settings = bench_settings(url, **overrides)
        async with connected(settings):
            yield settings


@asynccontextmanager
async def redis_under(prefix: str) -> AsyncIterator[Redis]:
    """A client of REDIS_URL for keys under ``prefix``: they are deleted, and the client
    closed, when the block ends."""
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        yield redis
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1_000):
            await redis.delete(key)
        await redis.aclose()


def bulk_members(*, count: str, tier_id: str, joined_at: str = "now()", growth: str = "0") -> str:
    """INSERT ... SELECT of members ``bench-<n>`` (``Member <n>``) for n from 1 to ``count``,
    without points: the services would take hours for a million. Each argument is an SQL
    expression (of ``n`` for ``tier_id`` and ``growth``); rows are created when they join."""
    return (
        "INSERT INTO member (external_id, display_name, joined_at, tier_id, points_balance, "
        "growth, lifetime_points, created_at, updated_at) "
        f"SELECT 'bench-' || n, 'Member ' || n, {joined_at}, {tier_id}, 0, {growth}, 0, "
        f"{joined_at}, {joined_at} FROM generate_series(1, {count}) AS n"
    )


async def member_ids() -> list[int]:
    """Every member's id, in order (the ORM connected)."""
    from app.models import Member

    return [int(row[0]) for row in await Member.all().order_by("id").values_list("id")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def uvicorn_command(port: int, *, workers: int) -> list[str]:
    """``uvicorn app.main:create_app --factory`` on loopback ``port``: uvloop + httptools,
    no access log, warnings only, five seconds of graceful shutdown."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--timeout-graceful-shutdown",
        "5",
    ]


@asynccontextmanager
async def uvicorn_server(
    env: Mapping[str, str], *, workers: int = 1, startup_seconds: float = 60.0
) -> AsyncIterator[int]:
    """``uvicorn app.main:create_app --factory`` on a free loopback port (yielded), with
    ``env`` (LAUREL_* settings) over this process's environment; stopped with SIGINT, as
    Ctrl-C would, when the block ends.

    uvloop + httptools: the asyncio/h11 stack with --workers loses TCP_NODELAY (uvicorn
    issue 3149) and would measure a 40 ms delayed-ACK stall instead of the app.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *uvicorn_command(port, workers=workers),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_until_healthy(process, port, startup_seconds)
        yield port
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_healthy(
    process: asyncio.subprocess.Process, port: int, seconds: float
) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and process.returncode is None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status = await reader.readline()
            writer.close()
            if status.startswith(b"HTTP/1.1 200"):
                # --workers N: the port answers once the first worker is up; give the rest
                # a moment so that a measurement does not start with one of them missing.
                await asyncio.sleep(0.5)
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"uvicorn did not become healthy on port {port}")


def lua(value: object) -> str:
    """``value`` as a Lua literal: strings, numbers, booleans, lists and string-keyed dicts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Lua literal for {value!r}")


async def run_wrk_script(
    port: int,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    path: str = "/graphql",
    options: Sequence[str] = (),
    script_args: Sequence[str] = (),
    grace_seconds: float = 30.0,
) -> str:
    """What ``wrk`` printed driving the server on ``port`` with the Lua ``script`` (and
    ``script_args`` after ``--``) for ``seconds``; a RuntimeError when wrk is missing, fails
    or runs ``grace_seconds`` over. wrk is C and spends a fraction of a core where a Python
    client would take the server's CPU."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    process = await asyncio.create_subprocess_exec(
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        *options,
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{path}",
        *(["--", *script_args] if script_args else []),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(seconds + grace_seconds):
            output = (await process.communicate())[0].decode(errors="replace")
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"wrk ran over {seconds + grace_seconds:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed (exit {process.returncode}):\n{output}")
    return output


async def wrk_rate(
    port: int,
    body: str,
    *,
    headers: Mapping[str, str],
    seconds: int,
    connections: int = 32,
    threads: int = 1,
    path: str = "/graphql",
) -> float:
    """Requests/s of ``wrk`` POSTing ``body`` to the server on ``port`` over ``connections``
    keep-alive connections; one thread is plenty on a small machine. Any response that is
    not 2xx fails the run (the body itself is the caller's to check, once, beforehand)."""
    lines = ['wrk.method = "POST"', f"wrk.body = {lua(body)}"]
    lines += [f"wrk.headers[{lua(k)}] = {lua(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        output = await run_wrk_script(
            port,
            Path(script.name),
            seconds=seconds,
            connections=connections,
            threads=threads,
            path=path,
        )
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"no rate in wrk's output:\n{output}")
    return float(found.group(1))


def medians(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Figure by figure, the median of the rounds (each round names the same figures)."""
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


def figures_line(figures: Mapping[str, float]) -> str:
    """``name value, name value`` for a round's figures."""
    return ", ".join(f"{name} {value:,.2f}" for name, value in figures.items())


# What tortoise's clients send statements through; counted on the class, since tortoise
# may hand another task its own client object.
_EXECUTE_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)
# The tally of the block being counted, seen by the tasks it starts and by no other (the
# app's background work, e.g. the outbox relay, sends statements of its own meanwhile).
_tally: ContextVar[list[str] | None] = ContextVar("bench_statement_tally", default=None)


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Every SQL statement the open ORM sends for the code run in the block (its client's
    class is patched for the block and restored after)."""
    from app import db

    client = type(db.connection())
    originals = {name: client.__dict__.get(name) for name in _EXECUTE_METHODS}
    for name in _EXECUTE_METHODS:
        original = getattr(client, name)

        async def counted(self: Any, query: str, *args: Any, _original: Any = original) -> Any:
            tally = _tally.get()
            if tally is not None:
                tally.append(query)
            return await _original(self, query, *args)

        setattr(client, name, counted)
    sent: list[str] = []
    token = _tally.set(sent)
    try:
        yield sent
    finally:
        _tally.reset(token)
        for name, original in originals.items():
            if original is None:
                delattr(client, name)
            else:
                setattr(client, name, original)
