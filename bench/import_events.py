"""Bulk import: members/s and events/s of ``app.services.activity.imports`` on PostgreSQL.

Creates a database beside LAUREL_BENCH_POSTGRES_URL (``laurel_bench_<random>``, dropped at
the end), migrates it and loads the demo programme. Then, each step timed on its own:

- members: ``--members`` members (default 10,000) written to a CSV in a temporary folder
  and imported as ``laurel import members`` does (set-based, with their enrolment rows);
- events: ``--events`` events (default 100,000) of the demo's activity mix (mostly
  check-ins and purchases) for the demo's and those members, dated over the last 25
  days, written to a CSV and imported as ``laurel import events`` does (chunks of 500
  through ``record_events``, ``--in-flight`` at once);
- again: the same file imported a second time, every row a duplicate (what resuming an
  interrupted import costs per row already recorded).

The issue's target is 1M events in under 60 s (``--events 1000000``). CSV writing and the
demo are not timed.

    .venv/bin/python bench/import_events.py [--events 1000000] [--members 10000]
        [--in-flight 2] [--chunk-size 500]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _databases import EVENT_MIX, POSTGRES_URL, bench_settings, connected, temporary_postgres

from app.cli import ImportBar
from app.models import Member
from app.services.activity.events import EventPolicy
from app.services.activity.imports import ImportReport, import_events, import_members
from app.services.programme.demo import load_demo

HISTORY_DAYS = 25  # within the service's default backfill window of 30 days
TARGET_EVENTS, TARGET_SECONDS = 1_000_000, 60.0


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    report: ImportReport
    cpu_seconds: float  # of this process: parsing, the engine, the driver

    def line(self) -> str:
        r = self.report
        return (
            f"{self.name:8} {r.read:>10,} rows {r.seconds:7.1f} s {r.rows_per_second:>9,.0f} rows/s"
            f"  (recorded {r.recorded:,}, duplicates {r.duplicates:,}, rejected {r.rejected:,};"
            f" process CPU {self.cpu_seconds:.1f} s)"
        )


def clock() -> datetime:
    return datetime.now(UTC)


def write_members(path: Path, count: int, *, joined: datetime) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["external_id", "display_name", "joined_at"])
        for n in range(count):
            writer.writerow([f"bench-{n:07d}", f"Bench member {n}", joined.isoformat()])
    return path


def write_events(path: Path, count: int, *, members: list[str], now: datetime) -> Path:
    rng = random.Random(2026)
    types, weights = list(EVENT_MIX), list(EVENT_MIX.values())
    span = HISTORY_DAYS * 24 * 3600
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["idempotency_key", "external_member_id", "type", "occurred_at", "amount"])
        for n, type_ in enumerate(rng.choices(types, weights=weights, k=count)):
            at = now - timedelta(seconds=rng.randrange(60, span))
            amount = f"{rng.uniform(5, 400):.2f}" if type_ == "purchase" else ""
            writer.writerow([f"imp-{n}", rng.choice(members), type_, at.isoformat(), amount])
    return path


async def run(
    database_url: str, *, events: int, members: int, in_flight: int, chunk_size: int, folder: Path
) -> list[Step]:
    """Migrate, load the demo and time the three steps on ``database_url``."""
    settings = bench_settings(database_url)
    now = datetime.now(UTC)
    steps: list[Step] = []
    async with connected(settings):
        await load_demo(now=now)
        members_csv = write_members(
            folder / "members.csv", members, joined=now - timedelta(days=400)
        )
        started = time.process_time()
        with ImportBar("members", enabled=sys.stderr.isatty()) as bar:
            report = await import_members(
                members_csv, clock=clock, zone=settings.zone, progress=bar
            )
        steps.append(Step("members", report, time.process_time() - started))
        everyone = [str(m) for m in await Member.all().values_list("external_id", flat=True)]
        print(f"writing {events:,} events for {len(everyone):,} members ...", file=sys.stderr)
        events_csv = write_events(folder / "events.csv", events, members=everyone, now=now)
        policy = EventPolicy(zone=settings.zone)
        for name in ("events", "again"):
            started = time.process_time()
            with ImportBar(name, enabled=sys.stderr.isatty()) as bar:
                report = await import_events(
                    events_csv,
                    policy=policy,
                    clock=clock,
                    in_flight=in_flight,
                    chunk_size=chunk_size,
                    progress=bar,
                )
            steps.append(Step(name, report, time.process_time() - started))
    return steps


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=500)
    args = parser.parse_args()
    print(
        f"import on PostgreSQL (a database beside {POSTGRES_URL}): {args.members:,} members, "
        f"{args.events:,} events, chunks of {args.chunk_size}, {args.in_flight} in flight, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="laurel-import-bench-") as folder:
        async with temporary_postgres() as url:
            steps = await run(
                url,
                events=args.events,
                members=args.members,
                in_flight=args.in_flight,
                chunk_size=args.chunk_size,
                folder=Path(folder),
            )
    for step in steps:
        print(step.line())
    events = next(s.report for s in steps if s.name == "events")
    rate = events.rows_per_second
    projected = TARGET_EVENTS / rate if rate else float("inf")
    print(
        f"import: {rate:,.0f} events/s; 1M events would take {projected:,.0f} s at this rate "
        f"(target < {TARGET_SECONDS:.0f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
