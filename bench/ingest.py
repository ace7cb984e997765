"""Recording events: events/s and latency of recordEvent, in-process and over HTTP.

For each backend (a SQLite file in a temporary folder; a PostgreSQL database created
beside LAUREL_BENCH_POSTGRES_URL and dropped after, skipped when unreachable) the script
migrates, loads the demo programme, tops the members up to 10,000 and records events
from the demo's activity mix (mostly check-ins and purchases) at concurrency 1 and 32:

- service: ``app.services.events.record_event`` called in-process; on PostgreSQL also
  with asyncpg's per-release reset query switched off, side by side;
- http: ``uvicorn app.main:create_app --factory`` (uvloop + httptools) in a subprocess,
  the client operation RecordEvent POSTed with httpx; PostgreSQL with 1 and 2 workers,
  SQLite with 1 (a SQLite file must not be written from two processes).

Every event has a fresh idempotency key and happens now. Each variant runs --rounds
rounds of --seconds; the table shows the medians of the rounds. On PostgreSQL the SQL
statements of one recorded event are counted too, and --profile adds a cProfile of one
service round at concurrency 32.

    .venv/bin/python bench/ingest.py [--rounds 3] [--seconds 5] [--backend all] [--profile]

(``PYTHONPATH=.`` in front when Laurel is not installed in the interpreter's environment.)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import os
import pstats
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar

import asyncpg
import httpx
import uvloop
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from app import db
from app.api.ids import encode_id
from app.auth import Role, mint_token
from app.config import Settings
from app.models import Member
from app.services.demo import load_demo
from app.services.events import EventPolicy, record_event
from app.services.ladder import base_tier

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = (ROOT / "graphql/operations/activity.graphql").read_text()
BENCH_JWT_SECRET = "bench-" + "x" * 40
ADMIN_URL = os.environ.get("LAUREL_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

MEMBER_COUNT = 10_000
MEMBER_BATCH = 1_000
CONCURRENCIES = (1, 32)
# The demo programme's activity: check-ins and purchases drive its tasks and badges.
EVENT_MIX = {"check_in": 40, "purchase": 40, "share": 10, "review": 6, "referral": 4}
# Bounds on every wait, so a stuck server or database ends the run instead of hanging it.
DRAIN_SECONDS = 30.0  # for calls still in flight when a round's time is up
REQUEST_TIMEOUT_SECONDS = 30.0
STARTUP_SECONDS = 60.0
SHUTDOWN_SECONDS = 30.0
WARM_UP_SECONDS = 1.0  # prepared statements, pools and caches, not measured
COUNTED_EVENTS = 200
FAILURES_SHOWN = 5

RUN_ID = uuid.uuid4().hex[:8]
_serial = itertools.count(1)


# --- the load -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchEvent:
    member_id: int
    type: str
    amount: str
    idempotency_key: str


def next_event(rng: random.Random, member_ids: list[int]) -> BenchEvent:
    type = rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()))[0]
    amount = f"{rng.uniform(5, 400):.2f}" if type == "purchase" else "0"
    return BenchEvent(rng.choice(member_ids), type, amount, f"bench-{RUN_ID}-{next(_serial)}")


# Records one event; returns None when it was recorded, else what went wrong.
Send = Callable[[BenchEvent], Awaitable[str | None]]


@dataclass(slots=True)
class Round:
    seconds: float
    latencies_ms: list[float]  # of recorded events, sorted
    failures: list[str]
    cpu_seconds: float  # of this process: all of the service path, only the client of http

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return self.latencies_ms[min(len(self.latencies_ms) - 1, int(q * len(self.latencies_ms)))]

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu_seconds / max(1, len(self.latencies_ms))


async def drive(
    send: Send, *, concurrency: int, seconds: float, member_ids: list[int], seed: int
) -> Round:
    """``concurrency`` tasks record events back to back until ``seconds`` have passed."""
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        rng = random.Random(seed * 1_000 + n)
        while time.perf_counter() < deadline:
            event = next_event(rng, member_ids)
            started = time.perf_counter()
            problem = await send(event)
            if problem is None:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures.append(problem)

    cpu, started = time.process_time(), time.perf_counter()
    async with asyncio.timeout(seconds + DRAIN_SECONDS):
        await asyncio.gather(*(client(n) for n in range(concurrency)))
    return Round(
        seconds=time.perf_counter() - started,
        latencies_ms=sorted(latencies),
        failures=failures,
        cpu_seconds=time.process_time() - cpu,
    )


# --- the databases -----------------------------------------------------------------


async def postgres_problem(admin_url: str) -> str | None:
    try:
        conn = await asyncpg.connect(admin_url, timeout=3)
        await conn.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@asynccontextmanager
async def temporary_postgres(admin_url: str) -> AsyncIterator[str]:
    """A fresh database beside ``admin_url``, dropped afterwards even if the bench fails."""
    name = f"laurel_bench_{RUN_ID}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def prepare(settings: Settings) -> list[int]:
    """Migrate, load the demo and add plain members up to MEMBER_COUNT; their ids."""
    await db.migrate(settings)
    now = datetime.now(UTC)
    async with db.connect(settings):
        await load_demo(now=now)
        tier = await base_tier(now=now)
        have = await Member.all().count()
        joined = now - timedelta(days=400)  # long before any event, as check_event wants
        # Set-based: the enrollment service would write a TierChange per member, which
        # recording events never reads.
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
                batch_size=MEMBER_BATCH,
                using_db=conn,
            )
        return list(await Member.all().order_by("id").values_list("id", flat=True))  # type: ignore[arg-type]


# --- the service path ----------------------------------------------------------------


async def keep_session(connection: asyncpg.Connection) -> None:
    """A pool ``reset`` that sends nothing.

    By default asyncpg's pool sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release (asyncpg issue 271): one more round trip
    per transaction and per statement tortoise runs outside one. Given a ``reset``
    callable the pool calls it instead, after rolling back any open transaction itself.
    Laurel sets no session state, advisory locks or listeners: there is nothing to reset.
    """


@asynccontextmanager
async def orm(settings: Settings, **pool_options: Any) -> AsyncIterator[None]:
    """``db.connect``, or the same with extra asyncpg pool options (PostgreSQL only)."""
    if not pool_options:
        async with db.connect(settings):
            yield
        return
    # Tortoise hands credentials it does not know to asyncpg.create_pool as they are.
    connection = expand_db_url(settings.database_url)
    connection["credentials"].update(pool_options)
    config = db.tortoise_config(settings.database_url)
    config["connections"] = {db.connection_name(settings.database_url): connection}
    async with TortoiseContext() as ctx:
        await ctx.init(config=config, _enable_global_fallback=True)
        yield


def service_sender(settings: Settings) -> Send:
    policy = EventPolicy(
        zone=settings.zone, backfill_window=timedelta(days=settings.event_backfill_days)
    )

    async def send(event: BenchEvent) -> str | None:
        now = datetime.now(UTC)
        try:
            await record_event(
                member_id=event.member_id,
                type=event.type,
                occurred_at=now,
                amount=Decimal(event.amount),
                idempotency_key=event.idempotency_key,
                policy=policy,
                now=now,
            )
        except Exception as exc:  # counted and shown, like a failed HTTP call
            return f"{type(exc).__name__}: {exc}"
        return None

    return send


# --- counting statements (PostgreSQL) --------------------------------------------------


@dataclass
class StatementTally:
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class CountingConnection(asyncpg.Connection):
    """An asyncpg connection that tallies every statement it sends, and the time it waits.

    Passed as tortoise's ``connection_class``; the pool's reset query, BEGIN and COMMIT
    go through ``execute`` too, so they are counted like the ORM's own statements.
    """

    tally: ClassVar[StatementTally] = StatementTally()

    def _kind(self, query: str) -> str:
        if query == self.get_reset_query():
            return "pool reset"
        return query.lstrip().split(None, 1)[0].rstrip(";").upper()

    async def _timed(self, query: str, call: Awaitable[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await call
        finally:
            CountingConnection.tally.seconds += time.perf_counter() - started
            CountingConnection.tally.counts[self._kind(query)] += 1

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(query, super().execute(query, *args, **kwargs))

    async def executemany(self, command: str, args: Iterable[Any], **kwargs: Any) -> None:
        await self._timed(command, super().executemany(command, args, **kwargs))

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(query, super().fetch(query, *args, **kwargs))

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(query, super().fetchrow(query, *args, **kwargs))

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(query, super().fetchval(query, *args, **kwargs))


async def count_statements(settings: Settings, member_ids: list[int]) -> str:
    """Statements per recorded event on the service path, one event at a time."""
    send = service_sender(settings)
    async with orm(settings, connection_class=CountingConnection):
        await drive(send, concurrency=1, seconds=0.3, member_ids=member_ids, seed=7)
        CountingConnection.tally = tally = StatementTally()
        rng = random.Random(11)
        failed = 0
        cpu, started = time.process_time(), time.perf_counter()
        for _ in range(COUNTED_EVENTS):
            failed += await send(next_event(rng, member_ids)) is not None
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    per_event = {kind: n / COUNTED_EVENTS for kind, n in tally.counts.most_common()}
    kinds = ", ".join(f"{kind} {n:.1f}" for kind, n in per_event.items())
    return (
        f"SQL statements per event (service path, PostgreSQL, one at a time, {COUNTED_EVENTS} "
        f"events, {failed} failed): {sum(per_event.values()):.1f} = {kinds}\n"
        f"  per event: {1000 * wall / COUNTED_EVENTS:.2f} ms wall, "
        f"{1000 * tally.seconds / COUNTED_EVENTS:.2f} ms of it inside asyncpg calls "
        "(round trips and asyncpg's own work), "
        f"{1000 * cpu / COUNTED_EVENTS:.2f} ms CPU in this process"
    )


# --- the http path --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class UvicornServer:
    """``uvicorn app.main:create_app --factory`` in a subprocess, on a free loopback port."""

    def __init__(self, database_url: str, *, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "LAUREL_DATABASE_URL": database_url,
            "LAUREL_LOAD_DEMO": "false",
            "LAUREL_LOG_LEVEL": "WARNING",
            # The bench signs its service token with the same secret.
            "LAUREL_JWT_SECRET": BENCH_JWT_SECRET,
        }
        self.env.pop("LAUREL_REDIS_URL", None)  # embedded mode: no Redis in the way
        self.log: IO[bytes] = log_path.open("wb")
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> UvicornServer:
        # uvloop + httptools: the asyncio/h11 stack with --workers loses TCP_NODELAY
        # (uvicorn issue 3149) and would measure a 40 ms delayed-ACK stall instead.
        self.process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"],
            *["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            *["--loop", "uvloop", "--http", "httptools", "--no-access-log"],
            *["--log-level", "warning", "--timeout-graceful-shutdown", "5"],
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        try:
            await self._wait_until_healthy()
        except BaseException:
            await self._stop()
            raise
        return self

    async def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.perf_counter() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as probe:
            while time.perf_counter() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"uvicorn did not become healthy; its log:\n{self.log_tail()}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        """SIGINT, as Ctrl-C would send; uvicorn passes it on to its workers."""
        process = self.process
        if process is not None and process.returncode is None:
            try:
                process.send_signal(signal.SIGINT)
            except ProcessLookupError:  # it exited since returncode was read
                pass
            try:
                await asyncio.wait_for(process.wait(), SHUTDOWN_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
        self.log.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def http_sender(client: httpx.AsyncClient) -> Send:
    async def send(event: BenchEvent) -> str | None:
        variables = {
            "input": {
                "memberId": encode_id("Member", event.member_id),
                "type": event.type,
                "occurredAt": datetime.now(UTC).isoformat(),
                "amount": event.amount,
                "idempotencyKey": event.idempotency_key,
            }
        }
        body = {"query": DOCUMENT, "operationName": "RecordEvent", "variables": variables}
        try:
            response = await client.post("/graphql", json=body)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        payload = response.json()
        result = (payload.get("data") or {}).get("recordEvent") or {}
        if result.get("__typename") != "EventRecorded":
            return f"{result.get('__typename')}: {payload.get('errors') or result}"[:300]
        return None

    return send


@asynccontextmanager
async def http_client(base_url: str, concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    token = mint_token(
        settings=Settings(jwt_secret=BENCH_JWT_SECRET),
        role=Role.SERVICE,
        subject="bench",
        now=datetime.now(UTC),
    )
    async with httpx.AsyncClient(
        base_url=base_url,
        http2=False,
        limits=limits,
        timeout=REQUEST_TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


# --- running and reporting --------------------------------------------------------------


@dataclass
class Variant:
    backend: str
    path: str
    concurrency: int
    rounds: list[Round] = field(default_factory=list)

    def median(self, figure: Callable[[Round], float]) -> float:
        return statistics.median(figure(r) for r in self.rounds)


@dataclass
class Bench:
    rounds: int
    seconds: float
    profile: bool
    variants: list[Variant] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def variant(self, backend: str, path: str, concurrency: int) -> Variant:
        for v in self.variants:
            if (v.backend, v.path, v.concurrency) == (backend, path, concurrency):
                return v
        self.variants.append(Variant(backend, path, concurrency))
        return self.variants[-1]

    async def measure(
        self, variant: Variant, send: Send, member_ids: list[int], round_no: int
    ) -> None:
        result = await drive(
            send,
            concurrency=variant.concurrency,
            seconds=self.seconds,
            member_ids=member_ids,
            seed=round_no * 100 + variant.concurrency,
        )
        variant.rounds.append(result)
        print(
            f"  {variant.backend:<8} {variant.path:<22} c={variant.concurrency:<3} "
            f"round {round_no + 1}: {result.rate:7.1f} events/s, {len(result.failures)} failed",
            file=sys.stderr,
            flush=True,
        )

    async def service(self, backend: str, settings: Settings, member_ids: list[int]) -> None:
        paths: dict[str, dict[str, Any]] = {"service": {}}
        if backend == "postgres":
            paths["service, no pool reset"] = {"reset": keep_session}
        send = service_sender(settings)
        # Variants alternate round by round, so the shared machine's noise hits them alike.
        for round_no in range(self.rounds):
            for path, pool_options in paths.items():
                async with orm(settings, **pool_options):
                    await drive(
                        send, concurrency=32, seconds=WARM_UP_SECONDS, member_ids=member_ids, seed=1
                    )
                    for concurrency in CONCURRENCIES:
                        variant = self.variant(backend, path, concurrency)
                        await self.measure(variant, send, member_ids, round_no)

    async def http(
        self, backend: str, settings: Settings, member_ids: list[int], workers: int, tmp: Path
    ) -> None:
        path = f"http, {workers} worker{'s' if workers > 1 else ''}"
        log_path = tmp / f"uvicorn-{backend}-{workers}.log"
        async with UvicornServer(
            settings.database_url, workers=workers, log_path=log_path
        ) as server:
            async with http_client(server.base_url, max(CONCURRENCIES)) as client:
                # Also lets every worker finish its start-up: /healthz answers with the first.
                await drive(
                    http_sender(client),
                    concurrency=32,
                    seconds=WARM_UP_SECONDS,
                    member_ids=member_ids,
                    seed=1,
                )
            for round_no in range(self.rounds):
                for concurrency in CONCURRENCIES:
                    # A pool as large as the concurrency: no request waits for a connection.
                    async with http_client(server.base_url, concurrency) as client:
                        variant = self.variant(backend, path, concurrency)
                        await self.measure(variant, http_sender(client), member_ids, round_no)
            mine = [v for v in self.variants if (v.backend, v.path) == (backend, path)]
            failed = any(r.failures for v in mine for r in v.rounds)
            if failed:
                self.notes.append(f"uvicorn log ({backend}, {path}):\n{server.log_tail()}")

    async def backend(self, backend: str, database_url: str, tmp: Path) -> None:
        settings = Settings(database_url=database_url, load_demo=False, log_level="WARNING")
        member_ids = await prepare(settings)
        print(f"{backend}: {len(member_ids)} members ready", file=sys.stderr, flush=True)
        await self.service(backend, settings, member_ids)
        if backend == "postgres":
            self.notes.append(await count_statements(settings, member_ids))
            if self.profile:
                self.notes.append(await profile_service(settings, member_ids, self.seconds))
        # SQLite: one writing process only, so no --workers 2.
        for workers in (1, 2) if backend == "postgres" else (1,):
            await self.http(backend, settings, member_ids, workers, tmp)

    def report(self) -> None:
        cores = os.cpu_count()
        print(
            f"Recording events: median of {self.rounds} rounds of {self.seconds:g} s, "
            f"{MEMBER_COUNT:,} members, demo programme, event mix {EVENT_MIX}"
        )
        print(
            f"The load generator shares this machine's {cores} cores with the app and the "
            "database: every figure includes that contention, http ones the client's cost."
        )
        header = (
            f"{'backend':<9}{'path':<24}{'conc':>5}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'failed':>8}{'bench CPU ms/ev':>17}"
        )
        print(header)
        print("-" * len(header))
        for v in self.variants:
            print(
                f"{v.backend:<9}{v.path:<24}{v.concurrency:>5}"
                f"{v.median(lambda r: r.rate):>10.1f}"
                f"{v.median(lambda r: r.percentile(0.50)):>9.2f}"
                f"{v.median(lambda r: r.percentile(0.99)):>9.2f}"
                f"{sum(len(r.failures) for r in v.rounds):>8}"
                f"{v.median(lambda r: r.cpu_ms_per_event):>17.2f}"
            )
        print(
            "bench CPU ms/ev: CPU time of this process per event: the whole service path "
            "in-process; only the load generator (httpx) for http."
        )
        for v in self.variants:
            shown = Counter(f for r in v.rounds for f in r.failures).most_common(FAILURES_SHOWN)
            for failure, n in shown:
                print(f"failed ({v.backend}, {v.path}, c={v.concurrency}) x{n}: {failure}")
        for note in self.notes:
            print(note)


async def profile_service(settings: Settings, member_ids: list[int], seconds: float) -> str:
    """cProfile of one service round at concurrency 32: own time by package, top functions."""
    send = service_sender(settings)
    async with orm(settings):
        await drive(send, concurrency=32, seconds=WARM_UP_SECONDS, member_ids=member_ids, seed=1)
        profiler = cProfile.Profile()
        profiler.enable()
        result = await drive(send, concurrency=32, seconds=seconds, member_ids=member_ids, seed=3)
        profiler.disable()
    functions = pstats.Stats(profiler).get_stats_profile().func_profiles
    total = sum(f.tottime for f in functions.values())
    by_package: defaultdict[str, float] = defaultdict(float)
    for f in functions.values():
        by_package[package_of(f.file_name)] += f.tottime
    lines = [
        f"cProfile, service path, PostgreSQL, c=32 ({result.rate:.0f} events/s under the "
        "profiler, which inflates Python-heavy code): own time by package, per event",
        *(
            f"  {name:<22} {1000 * t / max(1, len(result.latencies_ms)):6.2f} ms  {t / total:5.1%}"
            for name, t in sorted(by_package.items(), key=lambda item: -item[1])[:10]
        ),
        "  top functions by own time:",
    ]
    top = sorted(functions.items(), key=lambda item: item[1].tottime, reverse=True)[:15]
    for name, f in top:
        where = f"{package_of(f.file_name)}:{Path(f.file_name).name}:{f.line_number}"
        lines.append(f"  {f.tottime / total:5.1%} {f.ncalls:>9} {name[:48]:<48} {where}")
    return "\n".join(lines)


def package_of(file_name: str) -> str:
    if file_name.startswith("~") or not file_name:
        return "built-ins (C)"
    parts = Path(file_name).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if str(ROOT) in file_name:
        return Path(file_name).relative_to(ROOT).parts[0]
    return "stdlib"


async def main(args: argparse.Namespace) -> None:
    bench = Bench(rounds=args.rounds, seconds=args.seconds, profile=args.profile)
    with tempfile.TemporaryDirectory(prefix="laurel-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.backend in ("all", "sqlite"):
            await bench.backend("sqlite", f"sqlite://{tmp / 'bench.sqlite3'}", tmp)
        if args.backend in ("all", "postgres"):
            problem = await postgres_problem(ADMIN_URL)
            if problem:
                bench.notes.append(f"PostgreSQL skipped: {ADMIN_URL} unreachable ({problem})")
            else:
                async with temporary_postgres(ADMIN_URL) as url:
                    await bench.backend("postgres", url, tmp)
    bench.report()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and variant")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgres"], default="all")
    parser.add_argument(
        "--profile", action="store_true", help="add a cProfile of the service path (PostgreSQL)"
    )
    # The server runs on uvloop; the in-process path does too, so the two differ by HTTP.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(parser.parse_args()))
