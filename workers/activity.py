"""arq jobs of the activity domain: bulk imports. Each is idempotent: arq may run a job more
than once after a crash."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.db import connection_name
from app.services.activity.events import EventPolicy
from app.services.activity.imports import ImportProgress, import_events, import_members
from app.services.jobs.runs import run_slot

# How often a long import tells other workers it is alive (its job_run lease is 5 minutes).
IMPORT_HEARTBEAT_SECONDS = 30.0


async def import_csv(
    ctx: dict[str, Any],
    *,
    kind: str,
    path: str,
    backfill_days: int | None = None,
    slot: str | None = None,
) -> dict[str, Any] | None:
    """Import a CSV file of members or events that an admin uploaded to ``path`` (a path
    this worker reads), as ``laurel import`` does; rejected rows go to
    ``PATH.rejected.csv`` and the first 100 of them into the result.

    The run is recorded in ``job_run`` as ``import_members`` / ``import_events`` under
    ``slot`` (default: the file's SHA-256), so arq running it twice imports a file once:
    a finished slot returns None; a run that died half way is taken over after its lease
    and resumes (rows recorded before are duplicates, credited once). Name another slot
    to import the same file again, e.g. after enrolling members its events were waiting
    for. A file that cannot be imported at all fails the run (``ImportRefused``).
    """
    if kind not in ("members", "events"):
        raise ValueError(f"kind must be members or events, not {kind!r}")
    settings = ctx["settings"]
    file = Path(path)
    clock = _utc_now

    async def work(heartbeat: Callable[[], Awaitable[None]]) -> dict[str, Any]:
        last_beat = time.monotonic()

        async def progress(_: ImportProgress) -> None:
            nonlocal last_beat
            if time.monotonic() - last_beat >= IMPORT_HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                await heartbeat()

        if kind == "members":
            report = await import_members(file, clock=clock, zone=settings.zone, progress=progress)
        else:
            days = settings.event_backfill_days if backfill_days is None else backfill_days
            report = await import_events(
                file,
                policy=EventPolicy(zone=settings.zone, backfill_window=timedelta(days=days)),
                clock=clock,
                in_flight=2 if connection_name(settings.database_url) == "postgres" else 1,
                progress=progress,
            )
        return report.as_result()

    return await run_slot(
        name=f"import_{kind}",
        slot=slot or _sha256(file),
        work=work,
        now=clock(),
        clock=clock,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
    except OSError:
        return "unreadable"  # the import itself says why, in the run's error
    return digest.hexdigest()[:64]
