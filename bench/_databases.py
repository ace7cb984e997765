"""Shared by the bench scripts (imported, never run by `make bench`): a throwaway
PostgreSQL database beside the one named, dropped afterwards even if the bench fails; the
app under ``uvicorn[standard]`` in a subprocess; ``wrk`` driving it; and a tally of the SQL
statements the ORM sends."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def temporary_postgres(admin_url: str) -> AsyncIterator[str]:
    name = f"laurel_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _lua_string(text: str) -> str:
    """``text`` (ASCII, e.g. from json.dumps) as a Lua string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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
    keep-alive connections. wrk is C and spends a fraction of a core where a Python client
    would take the server's CPU; one thread is plenty on a small machine. Any response that
    is not 2xx fails the run (the body itself is the caller's to check, once, beforehand)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        process = await asyncio.create_subprocess_exec(
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}{path}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await process.communicate())[0].decode()
    if process.returncode != 0 or "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"no rate in wrk's output:\n{output}")
    return float(found.group(1))


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
