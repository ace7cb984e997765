"""Recording events over HTTP, against the trivial query on the same server, in one run.

For each server the script starts (``uvicorn app.main:create_app --factory`` with uvloop
and httptools, production settings: LAUREL_ENV=production, the outbox relay on):

- PostgreSQL (a database created beside LAUREL_BENCH_POSTGRES_URL, dropped after) and
  Redis (LAUREL_BENCH_REDIS_URL, keys under a prefix of this run, deleted after; without
  Redis the PostgreSQL servers run embedded), with 1 and then 2 workers;
- SQLite in embedded mode (a file in a temporary folder), 1 worker: one writing process;

``wrk`` (Debian's package, C: it leaves the server the CPU an httpx client would take)
drives it with bench/ingest.lua, whose every request is different: a fresh idempotency key,
one of 10,000 members, the demo's activity mix (mostly check-ins and purchases), happening
now. Round after round, interleaved so that a shared machine's noise hits all alike:

- ``{ __typename }`` with the service token: what the stack costs (HTTP, auth, GraphQL);
- ``RecordEvent``: events/s and wrk's p50/p99 latency, 32 connections;
- on PostgreSQL with 2 workers, ``RecordEvents`` over HTTP: 2 connections (2 writers, the
  members split between them), each posting batches of --batch-size (500) fresh events;
- on PostgreSQL with 2 workers, ``Me`` with a member's token, the request of
  bench/me_http.py (hook: :func:`me_request`).

Each round also reads the CPU time the server's processes and the database's backends
spent (Linux /proc): CPU per request hardly moves when the machine is shared, and the
ratio it implies is what the rates would show on a machine of their own.

Before the servers start, the SQL is counted at the driver (asyncpg, aiosqlite) through
the app in this process, caches warm: one recordEvent that completes a task and awards
points (a member's first check-in of the day), one recordEvents, one Me — statements by
kind, which on PostgreSQL are its round trips (--show-sql prints them).

Then bench/import_events.py runs as it is, for its lines (hook:
:func:`import_events_lines`), and the targets of issue 14 are shown beside the figures.
The tables show the medians of --rounds rounds of --seconds.

    .venv/bin/python bench/ingest.py [--backend all|sqlite|postgres] [--rounds 3] [--seconds 5]
        [--batch-size 500] [--show-sql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import httpx
from _databases import (
    EVENT_MIX,
    POSTGRES_URL,
    REDIS_URL,
    ROOT,
    connected,
    lua,
    member_ids,
    redis_prefix,
    redis_under,
    run_wrk_script,
    server_env,
    settings_of,
    temporary_postgres,
    uvicorn_server,
)
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app.api.shared.ids import encode_id
from app.auth import Role, mint_token
from app.config import Settings
from app.main import create_app
from app.models import Member
from app.services.activity.events import MAX_BATCH
from app.services.programme.demo import load_demo
from app.services.tiers.ladder import base_tier

BENCH = Path(__file__).resolve().parent
RUN = uuid.uuid4().hex[:8]
REDIS_PREFIX = redis_prefix()
DOCUMENT = (ROOT / "graphql/operations/activity.graphql").read_text()
ACTIVITY = json.dumps(DOCUMENT)  # a JSON string, for the wrk script
TRIVIAL = json.dumps({"query": "{ __typename }"})
LUA = BENCH / "ingest.lua"

MEMBER_COUNT = 10_000
# The demo programme's activity as ingest.lua reads it: {{type, weight}, ...}.
MIX = tuple(EVENT_MIX.items())
CONNECTIONS = 32
BATCH_WRITERS = 2
COUNTED_EVENTS = 10
SQL_SHOWN = 160  # characters of each statement --show-sql prints
WARM_UP_SECONDS = 1
# Bounds on every wait: a stuck server or database ends the run instead of hanging it.
WRK_REQUEST_TIMEOUT_SECONDS = 10
WRK_GRACE_SECONDS = 30
IMPORT_BENCH_SECONDS = 900

# The targets (issue 14), shown beside the figures.
TARGET_EVENTS_PER_TRIVIAL = 0.35
TARGET_PG_EVENTS = 1_000
TARGET_PG_P99_MS = 100
TARGET_SQLITE_EVENTS = 300
TARGET_BATCH_EVENTS = 20_000
TARGET_ME_PER_TRIVIAL = 0.5
TARGET_ROUND_TRIPS = 6


# --- wrk ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrkRound:
    """What one wrk run saw: requests, events the server recorded, and latency."""

    requests: int
    seconds: float
    recorded: int  # events recorded afresh (event and batch modes)
    failed: int  # items answered with anything else (errors, typed failures, duplicates)
    bad_status: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    sample: str  # the first failure, as the server answered it
    # CPU seconds the server's processes and the database's backends spent in the run.
    app_cpu: float = float("nan")
    database_cpu: float = float("nan")

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def events_per_second(self) -> float:
        return self.recorded / self.seconds

    @property
    def problems(self) -> int:
        return self.failed + self.bad_status + self.socket_errors

    @property
    def done(self) -> int:
        """What the rates count: events recorded, or requests of a static load."""
        return self.recorded or self.requests

    def cpu_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.done if self.done else float("nan")


_WRK_LINE = re.compile(r"^LAUREL (.*)$", re.MULTILINE)
_WRK_SAMPLE = re.compile(r"^LAUREL-SAMPLE (.*)$", re.MULTILINE)


async def run_wrk(
    port: int,
    config: dict[str, object],
    *,
    seconds: int,
    connections: int,
    threads: int,
    folder: Path,
) -> WrkRound:
    """One run of wrk with bench/ingest.lua and ``config`` (see the script's header)."""
    config_path = folder / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    config_path.write_text("return " + lua({**config, "threads": threads}) + "\n")
    try:
        output = await run_wrk_script(
            port,
            LUA,
            seconds=seconds,
            connections=connections,
            threads=threads,
            options=[f"--timeout={WRK_REQUEST_TIMEOUT_SECONDS}s"],
            script_args=[str(config_path)],
            grace_seconds=WRK_GRACE_SECONDS,
        )
    finally:
        config_path.unlink(missing_ok=True)
    found = _WRK_LINE.search(output)
    if found is None:
        raise RuntimeError(f"no LAUREL line in wrk's output:\n{output}")
    figures = {k: int(v) for k, v in (pair.split("=") for pair in found.group(1).split())}
    sample = _WRK_SAMPLE.search(output)
    return WrkRound(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        recorded=figures["recorded"],
        failed=figures["failed"],
        bad_status=figures["bad_status"],
        socket_errors=figures["socket_errors"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        sample=sample.group(1) if sample else "",
    )


# --- CPU per request: what a shared machine's noise does not change ---------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still there (Linux: /proc)."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return found


def process_tree(port: int) -> set[int]:
    """The uvicorn process listening on ``port`` (this run's, by its command line) and its
    workers."""
    pattern = f"[-]-port {port} "  # the brackets keep pgrep from matching itself
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    pids = {int(p) for p in found.stdout.split()}
    for pid in list(pids):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            continue
        pids.update(int(c) for c in children)
    return pids


async def database_backends(database_url: str) -> set[int]:
    """The PostgreSQL backends connected to the bench's database (none for SQLite, which
    runs inside the server's process)."""
    if not database_url.startswith("postgres"):
        return set()
    name = database_url.rpartition("/")[2]
    conn = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await conn.close()
    return {int(r["pid"]) for r in rows}


class CpuMeter:
    """CPU seconds the server's processes and its database's backends spend in a block."""

    def __init__(self, port: int, database_url: str) -> None:
        self.app = process_tree(port)
        self.database_url = database_url

    @contextlib.asynccontextmanager
    async def measuring(self) -> AsyncIterator[dict[str, float]]:
        spent: dict[str, float] = {}
        backends = await database_backends(self.database_url)
        app_before, db_before = cpu_seconds(self.app), cpu_seconds(backends)
        yield spent
        # Backends the pools opened meanwhile count whole; those closed are lost (rare).
        backends |= await database_backends(self.database_url)
        app_after, db_after = cpu_seconds(self.app), cpu_seconds(backends)
        spent["app"] = sum(app_after[p] - app_before.get(p, 0.0) for p in app_after)
        spent["database"] = sum(db_after[p] - db_before.get(p, 0.0) for p in db_after)


# --- what a server is measured with ------------------------------------------------------


@dataclass
class Load:
    """One kind of request a server is measured with, and its rounds."""

    name: str
    config: dict[str, object]
    connections: int = CONNECTIONS
    threads: int = 1
    rounds: list[WrkRound] = field(default_factory=list)
    warm_up: WrkRound | None = None

    def median(self, figure: Callable[[WrkRound], float]) -> float:
        return statistics.median(figure(r) for r in self.rounds) if self.rounds else float("nan")

    @property
    def rate(self) -> float:
        """Median requests/s of a static load, events/s of an event load."""
        if self.config["mode"] == "static":
            return self.median(lambda r: r.requests_per_second)
        return self.median(lambda r: r.events_per_second)

    def samples(self) -> list[str]:
        seen = [self.warm_up] if self.warm_up else []
        return [r.sample for r in seen + self.rounds if r.sample]


def trivial_load(token: str) -> Load:
    return Load("trivial", {"mode": "static", "body": TRIVIAL, "token": token})


def event_load(token: str, members: list[str]) -> Load:
    return Load(
        "recordEvent",
        {
            "mode": "event",
            "document": ACTIVITY,
            "token": token,
            "members": members,
            "split": False,
            "mix": MIX,
        },
    )


def batch_load(token: str, members: list[str], batch_size: int) -> Load:
    # One wrk thread per connection, so that each writer takes its own half of the members:
    # two back ends with overlapping members would queue on each other's row locks.
    return Load(
        "recordEvents",
        {
            "mode": "batch",
            "document": ACTIVITY,
            "token": token,
            "members": members,
            "split": True,
            "mix": MIX,
            "batch": batch_size,
        },
        connections=BATCH_WRITERS,
        threads=BATCH_WRITERS,
    )


@dataclass
class Server:
    label: str
    backend: str
    workers: int
    loads: list[Load]

    def load(self, name: str) -> Load | None:
        return next((load for load in self.loads if load.name == name), None)


async def measure(
    server: Server, env: dict[str, str], *, rounds: int, seconds: int, folder: Path
) -> None:
    """Start the server, warm every load up once, then run the loads round after round."""
    print(f"{server.label}: starting", file=sys.stderr, flush=True)
    async with uvicorn_server(env, workers=server.workers) as port:
        meter = CpuMeter(port, env["LAUREL_DATABASE_URL"])

        async def run(load: Load, duration: int) -> WrkRound:
            # A key prefix of its own: no run replays another's keys.
            config = {**load.config, "prefix": f"{RUN}-{uuid.uuid4().hex[:6]}"}
            async with meter.measuring() as spent:
                result = await run_wrk(
                    port,
                    {**config, "seed": len(load.rounds) + 1},
                    seconds=duration,
                    connections=load.connections,
                    threads=load.threads,
                    folder=folder,
                )
            return dataclasses.replace(result, app_cpu=spent["app"], database_cpu=spent["database"])

        # Prepared statements, pools, parser and programme caches of every worker.
        for load in server.loads:
            load.warm_up = await run(load, WARM_UP_SECONDS)
        for round_no in range(1, rounds + 1):
            for load in server.loads:
                result = await run(load, seconds)
                load.rounds.append(result)
                figure = (
                    f"{result.requests_per_second:8,.0f} req/s"
                    if load.config["mode"] == "static"
                    else f"{result.events_per_second:8,.0f} events/s"
                )
                print(
                    f"  {server.label} {load.name:<12} round {round_no}: {figure}, "
                    f"p99 {result.p99_ms:.0f} ms, {result.problems} failed",
                    file=sys.stderr,
                    flush=True,
                )


# --- the database: the demo, and members up to MEMBER_COUNT ------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    member_ids: list[int]
    fresh_ids: list[int]  # members with no activity yet: kept out of the HTTP load
    middle_member_id: int | None  # a member on rank 1 (Me shows a next tier)


async def populate(settings: Settings) -> Population:
    """Migrate, load the demo and add plain members up to MEMBER_COUNT (set-based: the
    enrolment service would write a TierChange per member, which events never read)."""
    now = datetime.now(UTC)
    async with connected(settings):
        await load_demo(now=now)
        tier = await base_tier(now=now)
        have = await Member.all().count()
        joined = now - timedelta(days=400)
        async with in_transaction() as conn:
            await Member.bulk_create(
                [
                    Member(
                        external_id=f"bench-{n:05d}",
                        display_name=f"Bench member {n}",
                        joined_at=joined,
                        tier_id=tier.id,
                    )
                    for n in range(have, MEMBER_COUNT)
                ],
                batch_size=1_000,
                using_db=conn,
            )
        ids = await member_ids()
        middle = await Member.filter(tier__rank=1).order_by("id").first()
    # The last members added have done nothing yet: the statement count takes its first
    # check-ins from them, so the HTTP load leaves them alone.
    fresh = ids[-(COUNTED_EVENTS + MAX_BATCH + 10) :]
    return Population(ids[: len(ids) - len(fresh)], fresh, middle.id if middle else None)


# --- counting statements at the driver ----------------------------------------------------


@dataclass
class Tally:
    kinds: Counter[str] = field(default_factory=Counter)
    prepares: int = 0  # PostgreSQL: statements asyncpg had not prepared on that connection
    sent: list[str] = field(default_factory=list)  # the statements, for --show-sql

    @property
    def statements(self) -> int:
        return sum(self.kinds.values())

    def shown(self) -> str:
        return ", ".join(f"{kind} {n}" for kind, n in self.kinds.items())

    def in_order(self) -> str:
        """The kinds as they were sent, e.g. ``BEGIN SELECT WITH COMMIT``."""
        return " ".join(_kind(sql) if not sql.endswith("()") else sql for sql in self.sent)


_tally: ContextVar[Tally | None] = ContextVar("bench_ingest_tally", default=None)


def _kind(sql: object) -> str:
    words = str(sql).split(None, 1)
    return words[0].rstrip(";").upper() if words else "?"


@contextlib.contextmanager
def driver_counting() -> Iterator[None]:
    """While open, every call into asyncpg or aiosqlite made under :func:`counted` is
    tallied: a PostgreSQL call is one round trip (two when the statement is prepared
    first); an aiosqlite call is one hop to SQLite's thread. Tortoise's BEGIN and COMMIT go
    through the same calls, so they are counted like the rest (unlike tortoise's own
    execute_* methods, which they bypass)."""
    patched: list[tuple[type, str, Any]] = []

    def wrap(owner: type, name: str, kind: Callable[[tuple[Any, ...]], str]) -> None:
        original = owner.__dict__[name]

        async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            tally = _tally.get()
            if tally is not None:
                tally.kinds[kind(args)] += 1
                tally.sent.append(str(args[0]) if args else f"{name}()")
            return await original(self, *args, **kwargs)

        patched.append((owner, name, original))
        setattr(owner, name, counting)

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        wrap(asyncpg.Connection, name, lambda args: _kind(args[0]))
    for name in ("execute", "executemany", "executescript", "execute_fetchall", "execute_insert"):
        wrap(aiosqlite.Connection, name, lambda args: _kind(args[0]))
    for name in ("commit", "rollback"):
        wrap(aiosqlite.Connection, name, lambda args, name=name: f"{name}()")  # type: ignore[misc]

    get_statement = asyncpg.Connection.__dict__["_get_statement"]

    async def preparing(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        # asyncpg's cache key (asyncpg 0.3x): a miss is a Parse round trip before the query.
        tally = _tally.get()
        if tally is not None:
            record_class = kwargs.get("record_class") or self._protocol.get_record_class()
            key = (query, record_class, kwargs.get("ignore_custom_codec", False))
            tally.prepares += self._stmt_cache.get(key) is None
        return await get_statement(self, query, *args, **kwargs)

    patched.append((asyncpg.Connection, "_get_statement", get_statement))
    asyncpg.Connection._get_statement = preparing
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


@contextlib.contextmanager
def counted() -> Iterator[Tally]:
    """The calls made by this task and the tasks it starts (not the app's background tasks,
    e.g. the outbox relay, started before)."""
    tally = Tally()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


@dataclass(frozen=True, slots=True)
class StatementCount:
    backend: str
    event: Tally  # one recordEvent that completes a task and awards points
    varies: list[int]  # statements of each counted event, when they were not all the same
    batch: Tally  # one recordEvents of --batch-size events
    batch_problem: str | None  # why it did not record them all
    me: Tally | None = None


def operation(name: str, **variables: object) -> dict[str, object]:
    """A request of graphql/operations/activity.graphql as a client sends it: the file's
    text with the operation's name."""
    return {"query": DOCUMENT, "operationName": name, "variables": variables}


def event_input(
    member_id: int, key: str, type: str = "check_in", amount: str = "0"
) -> dict[str, object]:
    return {
        "memberId": encode_id("Member", member_id),
        "type": type,
        "occurredAt": datetime.now(UTC).isoformat(),
        "amount": amount,
        "idempotencyKey": key,
    }


@contextlib.asynccontextmanager
async def app_in_process(settings: Settings, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (the outbox relay and all) in this process, and a client
    calling it with ``token``."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=60
        ) as client:
            yield client


async def count_statements(
    backend: str,
    settings: Settings,
    population: Population,
    me_body: str | None,
    *,
    batch_size: int,
) -> StatementCount:
    """Through the app in this process, its caches warm as under load: the calls one
    recordEvent makes when it completes a task and awards points (a member's first
    check-in of the day completes the daily check-in task), one recordEvents of
    ``batch_size`` events, one Me."""
    now = datetime.now(UTC)
    token = mint_token(settings=settings, role=Role.SERVICE, subject="bench", now=now)
    fresh = iter(population.fresh_ids)
    with driver_counting():
        async with app_in_process(settings, token) as client:

            async def first_check_in(n: int) -> Tally:
                request = operation("RecordEvent", input=event_input(next(fresh), f"c-{RUN}-{n}"))
                with counted() as tally:
                    answer = (await client.post("/graphql", json=request)).json()
                result = (answer.get("data") or {}).get("recordEvent") or {}
                if not (result.get("tasksCompleted") and result.get("pointsAwarded")):
                    raise RuntimeError(f"the counted check-in completed no task: {answer}")
                return tally

            for n in range(3):  # parser, validation, programme and prepared statements
                await first_check_in(n)
            tallies = [await first_check_in(n) for n in range(3, 3 + COUNTED_EVENTS)]

            inputs = [
                event_input(next(fresh), f"c-{RUN}-batch-{n}", "purchase", "120.00")
                if n % 2
                else event_input(next(fresh), f"c-{RUN}-batch-{n}")
                for n in range(batch_size)
            ]
            with counted() as batch:
                answer = (
                    await client.post("/graphql", json=operation("RecordEvents", inputs=inputs))
                ).json()
            recorded = ((answer.get("data") or {}).get("recordEvents") or {}).get("recorded")
            batch_problem = None
            if recorded != batch_size:
                batch_problem = f"recorded {recorded}: {str(answer)[:300]}"

            me = None
            if me_body is not None and population.middle_member_id is not None:
                member_token = mint_token(
                    settings=settings,
                    role=Role.MEMBER,
                    subject="bench",
                    member_id=population.middle_member_id,
                    now=now,
                )
                headers = {
                    "Authorization": f"Bearer {member_token}",
                    "Content-Type": "application/json",
                }
                await client.post("/graphql", content=me_body, headers=headers)  # warm
                with counted() as me:
                    response = await client.post("/graphql", content=me_body, headers=headers)
                if "errors" in response.json():
                    raise RuntimeError(f"Me failed: {response.text[:500]}")
    counts = [t.statements for t in tallies]
    # The usual count is shown; all of them as well when they differ.
    usual = Counter(counts).most_common(1)[0][0]
    event = next(t for t in tallies if t.statements == usual)
    varies = [] if len(set(counts)) == 1 else counts
    return StatementCount(backend, event, varies, batch, batch_problem, me)


# --- the hooks: figures other bench scripts measure ---------------------------------------


def me_request() -> str | None:
    """The ``Me`` request of bench/me_http.py (its body, as the member app sends it), or
    None while that script is not there. Measured here on the PostgreSQL 2-worker server,
    beside the trivial query, so that Me/trivial is of the same server and run."""
    if not (BENCH / "me_http.py").exists():
        return None
    import me_http

    body: str = me_http.ME
    return body


def import_events_lines() -> list[str]:
    """The figures of bench/import_events.py (events/s of `laurel import events`), run as
    it is, or why there are none. Its own process: it needs no HTTP server."""
    script = BENCH / "import_events.py"
    if not script.exists():
        return ["import events/s   (bench/import_events.py is not there yet)"]
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=IMPORT_BENCH_SECONDS,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    except subprocess.TimeoutExpired:
        return [f"import events/s   bench/import_events.py took over {IMPORT_BENCH_SECONDS} s"]
    output = done.stdout.strip().splitlines()
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-10:]
        return ["import events/s   bench/import_events.py failed:", *(f"    {t}" for t in tail)]
    return ["import (bench/import_events.py):", *(f"    {line}" for line in output)]


# --- the report ------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "ok" if ok else "BELOW TARGET"


def report(
    servers: list[Server],
    counts: list[StatementCount],
    imports: list[str],
    notes: list[str],
    args: argparse.Namespace,
) -> None:
    load1, _, _ = os.getloadavg()
    print(
        f"\nRecording events over HTTP — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores (load average {load1:.1f} at the end), medians of "
        f"{args.rounds} x {args.seconds} s"
    )
    print(
        f"wrk, 1 thread, {CONNECTIONS} connections; {MEMBER_COUNT:,} members, demo "
        f"programme, mix {EVENT_MIX}; every request a fresh key, happening now"
    )
    header = (
        f"{'server':<34}{'trivial req/s':>14}{'events/s':>10}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'failed':>8}{'ev/trivial':>11}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for server in servers:
        trivial, events = server.load("trivial"), server.load("recordEvent")
        assert trivial is not None and events is not None
        print(
            f"{server.label:<34}{trivial.rate:>14,.0f}{events.rate:>10,.0f}"
            f"{events.median(lambda r: r.p50_ms):>8.1f}{events.median(lambda r: r.p99_ms):>8.1f}"
            f"{sum(r.problems for r in events.rounds):>8}{events.rate / trivial.rate:>11.2f}"
        )
    print_cpu(servers)
    print()
    for server in servers:
        trivial, events = server.load("trivial"), server.load("recordEvent")
        assert trivial is not None and events is not None
        batch, me = server.load("recordEvents"), server.load("Me")
        if batch is not None:
            print(
                f"recordEvents, {server.label}: {batch.rate:,.0f} events/s over HTTP "
                f"({BATCH_WRITERS} wrk connections = {BATCH_WRITERS} writers, each posting "
                f"batches of {batch.config['batch']} fresh events for its own half of the members; "
                f"p50 {batch.median(lambda r: r.p50_ms):,.0f} ms, "
                f"p99 {batch.median(lambda r: r.p99_ms):,.0f} ms a batch; "
                f"{sum(r.problems for r in batch.rounds)} items failed)"
            )
        if me is not None:
            print(
                f"Me, {server.label}: {me.rate:,.0f} req/s (bench/me_http.py's request, a "
                f"member on rank 1), Me/trivial {me.rate / trivial.rate:.2f}"
            )
    for count in counts:
        event = count.event
        line = (
            f"statements per recordEvent ({count.backend}, a first check-in of the day: "
            f"completes a task, awards points): {event.statements} ({event.shown()}; in "
            f"order: {event.in_order()})"
        )
        if count.backend == "PostgreSQL":
            line += f" = {event.statements} round trips"
            if event.prepares:
                line += f" + {event.prepares} to prepare statements"
        else:
            line += " — calls into SQLite's thread, in process"
        print(line)
        if args.show_sql:
            for statement in event.sent:
                print(f"      {statement[:SQL_SHOWN]}")
        if count.varies:
            print(f"    (the counted events did not all send the same: {count.varies})")
        print(
            f"    recordEvents of {args.batch_size}: {count.batch.statements} "
            f"({count.batch.shown()})"
            + (
                f" + {count.batch.prepares} to prepare statements (asyncpg keeps none over "
                "15 KB prepared: every batch parses its own)"
                if count.batch.prepares
                else ""
            )
            + (f" — FAILED, {count.batch_problem}" if count.batch_problem else "")
        )
        if count.me is not None:
            print(f"    Me: {count.me.statements} ({count.me.shown()})")
    for line in imports:
        print(line)
    print_targets(servers, counts)
    for server in servers:
        for load in server.loads:
            for sample in load.samples()[:2]:
                print(f"failure ({server.label}, {load.name}): {sample}")
    for note in notes:
        print(note)


def print_cpu(servers: list[Server]) -> None:
    """CPU per request: steadier than rates when the machine is shared, and the ratio it
    implies is what the rates would show with the cores to themselves (the app, PostgreSQL
    and wrk share them)."""
    header = (
        f"{'CPU ms per request (or event)':<34}{'load':<14}{'server':>8}{'database':>10}"
        f"{'total':>8}{'trivial/this':>14}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for server in servers:
        trivial = server.load("trivial")
        assert trivial is not None
        base = trivial.median(lambda r: r.cpu_ms(r.app_cpu + r.database_cpu))
        for n, load in enumerate(server.loads):
            app = load.median(lambda r: r.cpu_ms(r.app_cpu))
            database = load.median(lambda r: r.cpu_ms(r.database_cpu))
            label = server.label if n == 0 else ""
            print(
                f"{label:<34}{load.name:<14}{app:>8.2f}{database:>10.2f}"
                f"{app + database:>8.2f}{base / (app + database):>14.2f}"
            )
    print(
        "server: the uvicorn processes; database: the PostgreSQL backends of the bench's "
        "database (SQLite runs inside the server). trivial/this: the rate ratio the CPU "
        "alone predicts."
    )


def print_targets(servers: list[Server], counts: list[StatementCount]) -> None:
    print("\ntargets (issue 14)")
    by = {(s.backend, s.workers): s for s in servers}
    pg2 = by.get(("postgres", 2))
    if pg2 is not None:
        trivial, events = pg2.load("trivial"), pg2.load("recordEvent")
        assert trivial is not None and events is not None
        ratio, p99 = events.rate / trivial.rate, events.median(lambda r: r.p99_ms)
        print(
            f"  events/trivial, PostgreSQL 2 workers   {ratio:8.2f}   >= "
            f"{TARGET_EVENTS_PER_TRIVIAL}   {_verdict(ratio >= TARGET_EVENTS_PER_TRIVIAL)}"
        )
        print(
            f"  events/s, PostgreSQL 2 workers        {events.rate:8,.0f}   >= "
            f"{TARGET_PG_EVENTS:,}   {_verdict(events.rate >= TARGET_PG_EVENTS)}"
            "   (on an unshared machine)"
        )
        print(
            f"  p99 ms, PostgreSQL 2 workers          {p99:8.1f}   < {TARGET_PG_P99_MS}"
            f"     {_verdict(p99 < TARGET_PG_P99_MS)}"
        )
        batch, me = pg2.load("recordEvents"), pg2.load("Me")
        if batch is not None:
            print(
                f"  recordEvents events/s                 {batch.rate:8,.0f}   >= "
                f"{TARGET_BATCH_EVENTS:,}   {_verdict(batch.rate >= TARGET_BATCH_EVENTS)}"
            )
        if me is not None:
            me_ratio = me.rate / trivial.rate
            print(
                f"  Me/trivial                            {me_ratio:8.2f}   >= "
                f"{TARGET_ME_PER_TRIVIAL}    {_verdict(me_ratio >= TARGET_ME_PER_TRIVIAL)}"
            )
    sqlite = by.get(("sqlite", 1))
    if sqlite is not None:
        events = sqlite.load("recordEvent")
        assert events is not None
        print(
            f"  events/s, SQLite embedded              {events.rate:8,.0f}   >= "
            f"{TARGET_SQLITE_EVENTS}     {_verdict(events.rate >= TARGET_SQLITE_EVENTS)}"
        )
    for count in counts:
        if count.backend == "PostgreSQL":
            trips = count.event.statements
            print(
                f"  round trips per event, PostgreSQL     {trips:8}   <= {TARGET_ROUND_TRIPS}"
                f"      {_verdict(trips <= TARGET_ROUND_TRIPS)}"
            )


# --- running it ------------------------------------------------------------------------


async def postgres_problem() -> str | None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await conn.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.asynccontextmanager
async def bench_redis() -> AsyncIterator[str | None]:
    """LAUREL_BENCH_REDIS_URL when it answers (None otherwise); this run's keys are
    deleted afterwards."""
    probe = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        await probe.ping()
    except Exception:
        answers = False
    else:
        answers = True
    finally:
        await probe.aclose()
    if not answers:
        yield None
        return
    async with redis_under(REDIS_PREFIX):
        yield REDIS_URL


async def bench_backend(
    backend: str,
    database_url: str,
    redis_url: str | None,
    args: argparse.Namespace,
    folder: Path,
    servers: list[Server],
    counts: list[StatementCount],
) -> None:
    env = server_env(
        database_url,
        redis_url=redis_url if backend == "postgres" else None,
        redis_prefix=REDIS_PREFIX,
        relay_outbox="true",
    )
    settings = settings_of(env)
    print(
        f"{backend}: loading the demo and {MEMBER_COUNT:,} members ...", file=sys.stderr, flush=True
    )
    population = await populate(settings)
    me_body = me_request() if backend == "postgres" else None
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    counts.append(
        await count_statements(name, settings, population, me_body, batch_size=args.batch_size)
    )
    now = datetime.now(UTC)
    token = mint_token(settings=settings, role=Role.SERVICE, subject="bench", now=now)
    members = [encode_id("Member", m) for m in population.member_ids]
    stack = "+ Redis" if redis_url else "(no Redis)"
    for workers in (1, 2) if backend == "postgres" else (1,):
        loads = [trivial_load(token), event_load(token, members)]
        if backend == "postgres" and workers == 2:
            loads.append(batch_load(token, members, args.batch_size))
            if me_body is not None and population.middle_member_id is not None:
                member_token = mint_token(
                    settings=settings,
                    role=Role.MEMBER,
                    subject="bench",
                    member_id=population.middle_member_id,
                    now=now,
                )
                loads.append(Load("Me", {"mode": "static", "body": me_body, "token": member_token}))
        label = (
            f"PostgreSQL {stack}, {workers} worker{'s' if workers > 1 else ''}"
            if backend == "postgres"
            else "SQLite embedded, 1 worker"
        )
        server = Server(label, backend, workers, loads)
        await measure(server, env, rounds=args.rounds, seconds=args.seconds, folder=folder)
        servers.append(server)


async def main(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    servers: list[Server] = []
    counts: list[StatementCount] = []
    notes: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="laurel-bench-") as folder_name:
        folder = Path(folder_name)
        async with bench_redis() as redis_url:
            if redis_url is None:
                notes.append(
                    f"Redis: {REDIS_URL} did not answer: the PostgreSQL servers ran embedded"
                )
            if args.backend in ("all", "postgres"):
                problem = await postgres_problem()
                if problem:
                    notes.append(f"PostgreSQL skipped: {POSTGRES_URL} unreachable ({problem})")
                else:
                    async with temporary_postgres(POSTGRES_URL) as url:
                        await bench_backend(
                            "postgres", url, redis_url, args, folder, servers, counts
                        )
            if args.backend in ("all", "sqlite"):
                url = f"sqlite://{folder / 'bench.sqlite3'}"
                await bench_backend("sqlite", url, None, args, folder, servers, counts)
    imports = import_events_lines() if args.backend != "sqlite" else []
    notes.append(f"(the run took {time.perf_counter() - started:.0f} s)")
    report(servers, counts, imports, notes, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["all", "sqlite", "postgres"], default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--seconds", type=int, default=5, help="per round and load (whole seconds: wrk's -d)"
    )
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of the counted event"
    )
    parser.add_argument(
        "--batch-size", type=int, default=MAX_BATCH, help="events per recordEvents request"
    )
    arguments = parser.parse_args()
    if arguments.rounds < 1 or arguments.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    if not 1 <= arguments.batch_size <= MAX_BATCH:
        parser.error(f"--batch-size must be 1 to {MAX_BATCH}")
    asyncio.run(main(arguments))
