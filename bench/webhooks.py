"""Webhook sending: deliveries per second from the outbox's deliveries to a fast local
receiver, against raw httpx POSTs to the same receiver at the same concurrency.

Creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (dropped at the end),
migrates it, registers one endpoint and writes ``--deliveries`` due deliveries of a
typical event (INSERT ... SELECT generate_series). The receiver is a bare ASGI app under
uvicorn (uvloop + httptools) on 127.0.0.1 in a subprocess, answering 204 to every POST
without reading the signature: the bench measures the sender, not a receiver. Then,
``--rounds`` times, interleaved, with the deliveries made due again before each timing:

- baseline: the same number of POSTs of the same body through one shared
  ``httpx.AsyncClient``, ``CONCURRENCY`` in flight (what any sender pays for HTTP alone);
- job: ``send_webhook_deliveries`` called as the arq worker calls it (claim, sign, check
  the host, POST, record; passes of ``BATCH_SIZE`` until nothing is due);
- arq worker (unless ``--no-arq``): the same job enqueued through Redis and run by one
  ``arq`` worker process (``workers.settings.WorkerSettings``), warmed by a first job with
  nothing due (as a long-running worker is), timed from the enqueue to the last delivery
  recorded.

Figures are medians of the rounds, with the ratio job ÷ baseline.

    .venv/bin/python bench/webhooks.py [--deliveries 5000] [--rounds 5] [--no-arq]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from _databases import (
    POSTGRES_URL,
    REDIS_URL,
    ROOT,
    figures_line,
    free_port,
    medians,
    migrated_postgres,
    redis_prefix,
)
from tortoise import connections

from app.config import Settings
from app.services.shared.audit import Actor
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
from app.services.webhooks.sending import BATCH_SIZE, CONCURRENCY
from workers.webhooks import send_webhook_deliveries

# A bare ASGI receiver: drains the body, answers 204.
RECEIVER = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            log_level="warning", access_log=False)
"""
PAYLOAD = {
    "type": "points.earned",
    "timestamp": "2026-12-06T10:15:02.123456+00:00",
    "sequence": [4711, 0],
    "data": {
        "memberId": 42,
        "memberExternalId": "crm-00042",
        "points": 10,
        "balance": 1250,
        "eventId": 9001,
    },
}


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", RECEIVER, str(port))
    url = f"http://127.0.0.1:{port}/laurel-hooks"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.post(url, content=b"{}")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the receiver did not start")
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()


async def write_deliveries(endpoint_id: int, count: int) -> None:
    conn = connections.get("postgres")
    await conn.execute_query(
        "INSERT INTO webhook_delivery (endpoint_id, outbox_id, position, event_type, msg_id, "
        "payload, status, attempts, next_try_at, created_at) "
        "SELECT $1, n, 0, 'points.earned', 'msg_' || n || '_0', $2::jsonb, 'pending', 0, "
        "now() - interval '1 second', now() FROM generate_series(1, $3) AS n",
        [endpoint_id, json.dumps(PAYLOAD), count],
    )
    await conn.execute_query("VACUUM ANALYZE webhook_delivery")


async def due_again() -> None:
    conn = connections.get("postgres")
    await conn.execute_query(
        "UPDATE webhook_delivery SET status = 'pending', attempts = 0, "
        "next_try_at = now() - interval '1 second', delivered_at = NULL, "
        "last_response_code = NULL, last_latency_ms = NULL, last_error = NULL"
    )
    await conn.execute_query("VACUUM ANALYZE webhook_delivery")


async def delivered() -> int:
    rows = await connections.get("postgres").execute_query_dict(
        "SELECT count(*) AS n FROM webhook_delivery WHERE status = 'delivered'"
    )
    return int(rows[0]["n"])


class Timed:
    """Wall time and this process's CPU time of a block (the sender's own CPU: on a
    machine shared with other work, CPU per delivery says more than the wall-clock rate)."""

    def __enter__(self) -> Timed:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


async def baseline(url: str, count: int) -> Timed:
    """Raw POSTs of the same body, CONCURRENCY in flight, one shared client."""
    body = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    headers = {"content-type": "application/json"}
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits) as client:

        async def one() -> None:
            async with gate:
                answer = await client.post(url, content=body, headers=headers)
                assert answer.status_code == 204

        with Timed() as timed:
            await asyncio.gather(*(one() for _ in range(count)))
        return timed


async def job(settings: Settings, count: int) -> Timed:
    sent = 0
    with Timed() as timed:
        while sent < count:  # one run sends at most 50 passes; the cron would run it again
            result = await send_webhook_deliveries({"settings": settings})
            if not result["sent"]:
                break
            sent += result["delivered"]
    assert await delivered() == count, "not every delivery was delivered"
    return timed


@asynccontextmanager
async def arq_worker(settings: Settings, prefix: str) -> AsyncIterator[str]:
    """One arq worker process on the bench's database and queue; yields the queue name."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LAUREL_DATABASE_URL": settings.database_url,
        "LAUREL_REDIS_URL": REDIS_URL,
        "LAUREL_REDIS_PREFIX": prefix,
        "LAUREL_JWT_SECRET": settings.jwt_secret,
        "LAUREL_LOAD_DEMO": "false",
        "LAUREL_RELAY_OUTBOX": "false",
        "LAUREL_WEBHOOKS_ALLOW_PRIVATE": "true",
        "LAUREL_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "arq",
        "workers.settings.WorkerSettings",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield prefix + "queue"
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()


async def through_arq(queue: str, count: int) -> float:
    from arq import create_pool
    from arq.connections import RedisSettings

    from workers.settings import WorkerSettings

    pool = await create_pool(
        RedisSettings.from_dsn(REDIS_URL),
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
        default_queue_name=queue,
    )
    try:
        # Warm, as a worker that has been running is: a first job with nothing due connects
        # the worker's database pool and loads what its first pass needs.
        await pool.enqueue_job("send_webhook_deliveries")
        await asyncio.sleep(1)
        await due_again()
        started = time.perf_counter()
        await pool.enqueue_job("send_webhook_deliveries")
        while await delivered() < count:
            if time.perf_counter() - started > 120:
                raise RuntimeError("the arq worker did not deliver them in 120 s")
            await asyncio.sleep(0.01)
        return count / (time.perf_counter() - started)
    finally:
        await pool.aclose()


async def main(args: argparse.Namespace) -> None:
    async with (
        migrated_postgres(args.admin_url, webhooks_allow_private=True) as settings,
        receiver() as url,
    ):
        endpoint = await create_endpoint(
            url=url,
            event_types=["points.earned"],
            policy=UrlPolicy(https_only=False, allow_private=True),
            actor=Actor(subject="bench", role="admin"),
            now=datetime.now(UTC),
        )
        await write_deliveries(endpoint.id, args.deliveries)
        rounds: list[dict[str, float]] = []
        for n in range(args.rounds):
            raw = await baseline(url, args.deliveries)
            await due_again()
            sent = await job(settings, args.deliveries)
            if not args.arq:
                await due_again()
            figures = {
                "baseline/s": args.deliveries / raw.wall,
                "job/s": args.deliveries / sent.wall,
                "baseline cpu µs": raw.cpu / args.deliveries * 1e6,
                "job cpu µs": sent.cpu / args.deliveries * 1e6,
            }
            if args.arq:
                # Started for its rounds only: its cron (every 5 s) would take deliveries
                # from the in-process job's timing.
                async with arq_worker(settings, redis_prefix()) as queue:
                    await asyncio.sleep(2)  # the worker connects
                    figures["arq/s"] = await through_arq(queue, args.deliveries)
                await due_again()
            print(f"round {n + 1}: {figures_line(figures)}", flush=True)
            rounds.append(figures)
        m = medians(rounds)
        print()
        print(
            f"{args.deliveries:,} deliveries per round, batches of {BATCH_SIZE}, "
            f"{CONCURRENCY} in flight; medians of {args.rounds} rounds"
        )
        print(f"  baseline (raw httpx POSTs): {m['baseline/s']:,.0f}/s")
        print(f"  job (as the worker calls it): {m['job/s']:,.0f}/s")
        if "arq/s" in m:
            print(f"  one arq worker: {m['arq/s']:,.0f}/s")
        print(f"  job ÷ baseline: {m['job/s'] / m['baseline/s']:.2f}")
        print(
            f"  CPU of this process per delivery: baseline {m['baseline cpu µs']:,.0f} µs, "
            f"job {m['job cpu µs']:,.0f} µs (one free core: "
            f"{1e6 / m['baseline cpu µs']:,.0f}/s and {1e6 / m['job cpu µs']:,.0f}/s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-arq", dest="arq", action="store_false")
    parser.add_argument("--admin-url", default=POSTGRES_URL)
    asyncio.run(main(parser.parse_args()))
