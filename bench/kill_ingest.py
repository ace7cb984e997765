"""SIGKILL the API in the middle of a recordEvent load: nothing acknowledged is lost,
nothing is credited twice.

The script creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (dropped after),
migrates it and loads the demo programme, then starts ``uvicorn app.main:create_app
--factory`` (uvloop + httptools, --workers 2 by default) and sends a bounded list of
RecordEvent mutations, each with its own idempotency key, from --concurrency clients. While
the load runs it kills with SIGKILL, --kills times, alternately:

- one worker process (uvicorn's supervisor starts another in its place), and
- the whole server, every process of it (a crashed container), then starts it again.

A request whose response did not arrive (connection reset, refused, a 5xx) is sent again
with the same key and the same payload, as a back end retries, until it is answered. Then
the database is checked:

1. every acknowledged event is stored exactly once, with the points its answer reported;
2. no event was credited twice: each event's ledger rows add up to its points, no ledger
   row, task completion or outbox message names an event twice or an event that is not
   stored, and every retry of a key that had been committed replayed the first outcome;
3. every member's balance is the sum of its ledger.

It prints a summary and exits 1 on any violation (2 when the load could not finish).

    .venv/bin/python bench/kill_ingest.py [--events 3000] [--concurrency 32] [--kills 4]
        [--workers 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _databases import (
    EVENT_MIX,
    ROOT,
    SECRET,
    bench_settings,
    connected,
    free_port,
    member_ids,
    temporary_postgres,
    uvicorn_command,
)

from app.api.shared.ids import encode_id
from app.auth import Role, mint_token
from app.config import Settings
from app.services.programme.demo import load_demo

DOCUMENT = (ROOT / "graphql/operations/activity.graphql").read_text()
# Bounds on every wait, so that a stuck server ends the run instead of hanging it.
REQUEST_TIMEOUT_SECONDS = 30.0
STARTUP_SECONDS = 60.0
MAX_ATTEMPTS = 50  # per event; a retry waits for the server to be back first
RETRY_PAUSE_SECONDS = 0.05
SHOWN = 10  # violations printed per kind


@dataclass(frozen=True, slots=True)
class Planned:
    key: str
    member_id: int
    type: str
    amount: str
    occurred_at: str  # the same payload on every attempt, as a retrying back end sends


@dataclass(slots=True)
class Delivery:
    """What the client knows of one event: its attempts and the answers it got."""

    event: Planned
    attempts: int = 0
    unanswered: int = 0  # attempts that got no response (or a 5xx)
    answers: list[dict[str, Any]] = field(default_factory=list)


# --- the server ------------------------------------------------------------------------


class Server:
    """The API under uvicorn, in a process group of its own so that one signal reaches
    every process of it; always on the same port, so clients reconnect to its next life."""

    def __init__(self, database_url: str, *, workers: int, log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log_path = log
        self.env = {
            **os.environ,
            "LAUREL_DATABASE_URL": database_url,
            "LAUREL_JWT_SECRET": SECRET,
            "LAUREL_LOAD_DEMO": "false",
            "LAUREL_LOG_LEVEL": "WARNING",
            "LAUREL_RUN_JOBS_IN_PROCESS": "false",  # the API alone: no scheduled jobs
        }
        self.env.pop("LAUREL_REDIS_URL", None)
        self.process: asyncio.subprocess.Process | None = None
        self.lives = 0

    async def start(self) -> None:
        self.lives += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- life {self.lives} ---\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                *uvicorn_command(self.port, workers=self.workers),
                cwd=ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        await self._wait_until_healthy()

    async def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as probe:
            while time.monotonic() < deadline and self.process.returncode is None:
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"uvicorn did not become healthy; see {self.log_path}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The worker processes uvicorn's supervisor started (Linux /proc)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            return []
        workers = []
        for child in map(int, children):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"spawn_main" in command:  # not multiprocessing's resource tracker
                workers.append(child)
        return workers

    def kill_worker(self, rng: random.Random) -> int | None:
        workers = self.worker_pids()
        if not workers:
            return None
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        return victim

    async def kill_all(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()
        # The workers are in the group too; wait until none answers any more.
        while self._group_alive():  # noqa: ASYNC110  # a process group signals no end
            await asyncio.sleep(0.02)

    def _group_alive(self) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def stop(self) -> None:
        """SIGINT, as Ctrl-C would; SIGKILL to the group if it does not end."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                pass
        if self._group_alive():
            os.killpg(process.pid, signal.SIGKILL)


# --- the load --------------------------------------------------------------------------


def plan_events(count: int, member_ids: list[int], rng: random.Random) -> list[Planned]:
    run = uuid.uuid4().hex[:8]
    at = datetime.now(UTC).isoformat()
    planned = []
    for n in range(count):
        type = rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()))[0]
        amount = f"{rng.uniform(5, 400):.2f}" if type == "purchase" else "0"
        planned.append(Planned(f"kill-{run}-{n}", rng.choice(member_ids), type, amount, at))
    return planned


def body(event: Planned) -> dict[str, Any]:
    return {
        "query": DOCUMENT,
        "operationName": "RecordEvent",
        "variables": {
            "input": {
                "memberId": encode_id("Member", event.member_id),
                "type": event.type,
                "occurredAt": event.occurred_at,
                "amount": event.amount,
                "idempotencyKey": event.key,
            }
        },
    }


class Load:
    """The clients sending the planned events until each is answered, and the killer."""

    def __init__(self, server: Server, deliveries: list[Delivery], *, concurrency: int) -> None:
        self.server = server
        self.deliveries = deliveries
        self.concurrency = concurrency
        self.up = asyncio.Event()  # clear while the whole server is down
        self.acknowledged = 0
        self.progress = asyncio.Event()  # set on each acknowledgement
        self.gave_up: list[Delivery] = []
        self.kills: list[str] = []

    async def run(self, kill_at: list[int], rng: random.Random) -> None:
        """Send every event until answered, killing at those numbers of acknowledged
        events (alternately a worker and the whole server)."""
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        for delivery in self.deliveries:
            queue.put_nowait(delivery)
        self.up.set()
        token = mint_token(
            settings=Settings(jwt_secret=SECRET),
            role=Role.SERVICE,
            subject="kill-bench",
            now=datetime.now(UTC),
        )
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(
            base_url=self.server.url,
            limits=limits,
            timeout=REQUEST_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            killer = asyncio.create_task(self._killer(kill_at, rng))
            await asyncio.gather(*(self._client(client, queue) for _ in range(self.concurrency)))
            if not killer.done():
                self.kills.append("(the load ended before the remaining kills)")
                killer.cancel()
            try:
                await killer
            except asyncio.CancelledError:
                pass

    async def _killer(self, kill_at: list[int], rng: random.Random) -> None:
        for n, threshold in enumerate(kill_at):
            while self.acknowledged < threshold:
                self.progress.clear()
                await self.progress.wait()
            # A little later than the count: a moment that is nothing in particular.
            await asyncio.sleep(rng.uniform(0, 0.05))
            at = self.acknowledged
            if n % 2 == 0 and self.server.workers > 1:
                victim = self.server.kill_worker(rng)
                self.kills.append(
                    f"SIGKILL worker pid {victim} at {at} acknowledged (uvicorn starts another)"
                    if victim
                    else "no worker process found to kill"
                )
                continue
            self.up.clear()
            await self.server.kill_all()
            started = time.perf_counter()
            await self.server.start()
            self.kills.append(
                f"SIGKILL whole server at {at} acknowledged, "
                f"restarted and healthy in {time.perf_counter() - started:.1f} s"
            )
            self.up.set()

    async def _client(self, client: httpx.AsyncClient, queue: asyncio.Queue[Delivery]) -> None:
        while not queue.empty():
            delivery = queue.get_nowait()
            while True:
                await self.up.wait()
                delivery.attempts += 1
                answer = await self._send(client, delivery.event)
                if answer is not None:
                    delivery.answers.append(answer)
                    self.acknowledged += 1
                    self.progress.set()
                    break
                delivery.unanswered += 1
                if delivery.attempts >= MAX_ATTEMPTS:
                    self.gave_up.append(delivery)
                    break
                await asyncio.sleep(RETRY_PAUSE_SECONDS)

    @staticmethod
    async def _send(client: httpx.AsyncClient, event: Planned) -> dict[str, Any] | None:
        """The typed result, or None when no answer arrived (the caller retries)."""
        try:
            response = await client.post("/graphql", json=body(event))
        except httpx.HTTPError:
            return None
        if response.status_code >= 500:
            return None
        if response.status_code != 200:
            return {"__typename": f"HTTP {response.status_code}", "text": response.text[:200]}
        payload = response.json()
        result = (payload.get("data") or {}).get("recordEvent")
        if result is None:
            return {"__typename": "errors", "errors": payload.get("errors")}
        return dict(result)


# --- the checks ------------------------------------------------------------------------


class Violations:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, kind: str, detail: str) -> None:
        self.found.setdefault(kind, []).append(detail)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.found.values())


async def check(database_url: str, deliveries: list[Delivery], since: datetime) -> Violations:
    """Compare what the clients were told with what the database holds."""
    wrong = Violations()
    keys = [d.event.key for d in deliveries]
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            "SELECT id, idempotency_key, member_id, points FROM event "
            "WHERE idempotency_key = ANY($1::text[])",
            keys,
        )
        times = Counter(r["idempotency_key"] for r in stored)
        by_key = {r["idempotency_key"]: r for r in stored}
        for d in deliveries:
            key = d.event.key
            recorded = [a for a in d.answers if a.get("__typename") == "EventRecorded"]
            for other in (a for a in d.answers if a.get("__typename") != "EventRecorded"):
                wrong.add("answered with something other than EventRecorded", f"{key}: {other}")
            if not recorded:
                continue
            if times[key] != 1:
                wrong.add("acknowledged but not stored exactly once", f"{key}: {times[key]}")
                continue
            row, first = by_key[key], recorded[0]
            if row["member_id"] != d.event.member_id:
                wrong.add("stored for another member", f"{key}: {row['member_id']}")
            if first["pointsAwarded"] != row["points"]:
                wrong.add(
                    "acknowledged points differ from the stored event's",
                    f"{key}: answered {first['pointsAwarded']}, stored {row['points']}",
                )
            if sum(not a["duplicate"] for a in recorded) > 1:
                wrong.add("recorded as new twice", key)
            if any(a["pointsAwarded"] != first["pointsAwarded"] for a in recorded):
                wrong.add("a retry was told another outcome", key)
            if d.attempts == 1 and first["duplicate"]:
                wrong.add("sent once, answered as a duplicate", key)
        ids = [r["id"] for r in stored]
        for r in await conn.fetch(
            """
            SELECT e.idempotency_key, e.points, COALESCE(l.total, 0) AS credited
            FROM event e LEFT JOIN (
                SELECT split_part(idempotency_key, ':', 1)::bigint AS event_id,
                       sum(delta) AS total
                FROM points_ledger
                WHERE source = 'event' AND idempotency_key ~ '^[0-9]+:[0-9]+$'
                GROUP BY 1
            ) l ON l.event_id = e.id
            WHERE e.id = ANY($1::bigint[]) AND e.points <> COALESCE(l.total, 0)
            """,
            ids,
        ):
            wrong.add(
                "an event's ledger rows do not add up to its points",
                f"{r['idempotency_key']}: points {r['points']}, ledger {r['credited']}",
            )
        for r in await conn.fetch(
            """
            SELECT l.id, l.idempotency_key FROM points_ledger l
            WHERE l.source = 'event' AND l.created_at >= $1 AND NOT EXISTS (
                SELECT 1 FROM event e
                WHERE e.id::text = split_part(l.idempotency_key, ':', 1)
            )
            """,
            since,
        ):
            wrong.add("a ledger row credits an event that is not stored", str(dict(r)))
        for r in await conn.fetch(
            "SELECT event_id, task_id, count(*) AS n FROM task_completion "
            "WHERE event_id = ANY($1::bigint[]) GROUP BY 1, 2 HAVING count(*) > 1",
            ids,
        ):
            wrong.add("a task completed twice by one event", str(dict(r)))
        messages = await conn.fetch(
            "SELECT (payload::jsonb ->> 'event_id')::bigint AS event_id, count(*) AS n "
            "FROM outbox WHERE topic = 'event.recorded' AND created_at >= $1 GROUP BY 1",
            since,
        )
        announced = {r["event_id"]: r["n"] for r in messages}
        for event_id in ids:
            if announced.get(event_id, 0) != 1:
                wrong.add(
                    "an event not announced exactly once (outbox)",
                    f"event {event_id}: {announced.get(event_id, 0)} messages",
                )
        for r in await conn.fetch(
            """
            SELECT m.id, m.points_balance, COALESCE(l.total, 0) AS ledger_sum
            FROM member m LEFT JOIN (
                SELECT member_id, sum(delta) AS total FROM points_ledger GROUP BY member_id
            ) l ON l.member_id = m.id
            WHERE m.points_balance <> COALESCE(l.total, 0)
            """
        ):
            wrong.add(
                "a balance is not the sum of its ledger",
                f"member {r['id']}: balance {r['points_balance']}, ledger {r['ledger_sum']}",
            )
    finally:
        await conn.close()
    return wrong


# --- running ---------------------------------------------------------------------------


async def prepare(database_url: str) -> list[int]:
    """Migrate and load the demo programme; the members' ids."""
    async with connected(bench_settings(database_url)):
        await load_demo(now=datetime.now(UTC))
        return await member_ids()


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    log = Path(args.log)
    async with temporary_postgres() as database_url:
        member_ids = await prepare(database_url)
        deliveries = [Delivery(e) for e in plan_events(args.events, member_ids, rng)]
        server = Server(database_url, workers=args.workers, log=log)
        since = datetime.now(UTC)
        # Spread the kills over the middle of the load.
        kill_at = [args.events * (k + 1) // (args.kills + 2) for k in range(args.kills)]
        load = Load(server, deliveries, concurrency=args.concurrency)
        started = time.perf_counter()
        try:
            await server.start()
            await load.run(kill_at, rng)
        finally:
            await server.stop()
        seconds = time.perf_counter() - started
        wrong = await check(database_url, deliveries, since)

    answered = [d for d in deliveries if d.answers]
    retried = [d for d in deliveries if d.unanswered]
    replayed = [
        d
        for d in retried
        if d.answers
        and d.answers[0].get("__typename") == "EventRecorded"
        and d.answers[0]["duplicate"]
    ]
    print(
        f"recordEvent under SIGKILL: {args.events} events from {args.concurrency} clients, "
        f"uvicorn --workers {args.workers}, PostgreSQL, {seconds:.1f} s "
        f"({len(answered) / seconds:.0f} events/s with the restarts)"
    )
    for n, kill in enumerate(load.kills, start=1):
        print(f"  kill {n}: {kill}")
    print(f"  server lives: {server.lives}; server log: {log}")
    print(f"  acknowledged: {len(answered)} of {args.events}")
    print(
        f"  sent again with the same key after no answer: {len(retried)} events, "
        f"{sum(d.unanswered for d in retried)} unanswered attempts"
    )
    print(
        f"    of which already committed when the answer was lost (replayed as duplicate): "
        f"{len(replayed)}; rolled back by the kill and recorded on retry: "
        f"{len(retried) - len(replayed) - len([d for d in retried if not d.answers])}"
    )
    if load.gave_up:
        print(f"  NEVER ANSWERED after {MAX_ATTEMPTS} attempts: {len(load.gave_up)} events")
    if wrong.count:
        print(f"VIOLATIONS: {wrong.count}")
        for kind, details in wrong.found.items():
            print(f"  {kind}: {len(details)}")
            for detail in details[:SHOWN]:
                print(f"    {detail}")
        return 1
    print(
        "OK: every acknowledged event is stored exactly once with the points it was told, "
        "no event credited twice, every balance is the sum of its ledger"
    )
    return 2 if load.gave_up else 0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kills", type=int, default=4, help="alternately a worker, the server")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", default="var/kill_ingest.log", help="the servers' output")
    return parser.parse_args()


if __name__ == "__main__":
    parsed = arguments()
    Path(parsed.log).parent.mkdir(parents=True, exist_ok=True)
    Path(parsed.log).write_bytes(b"")
    sys.exit(asyncio.run(main(parsed)))
