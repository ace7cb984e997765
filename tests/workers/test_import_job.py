"""The import job (workers.activity.import_csv), run by a real arq worker against real Redis:
an uploaded file is imported once however often arq runs the job."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

from app import db
from app.models import Event, JobRun, JobRunStatus, Member
from tests import factories
from tests.workers.burst import run_in_burst


async def run_jobs(settings, redis_url: str, *jobs: dict[str, Any]) -> list[Any]:
    """Run the import jobs one after the other (as a retry would come) with a burst worker;
    their results (a failed job's exception)."""
    return await run_in_burst(
        settings, redis_url, *(("import_csv", kwargs) for kwargs in jobs), max_jobs=1
    )


def write_events(path: Path, member: str, count: int) -> Path:
    now = factories.now()
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["idempotency_key", "external_member_id", "type", "occurred_at"])
        for n in range(count):
            writer.writerow([f"up-{n}", member, "share", (now - timedelta(hours=n)).isoformat()])
        writer.writerow(["up-x", "nobody", "share", now.isoformat()])
    return path


async def test_an_uploaded_file_is_imported_once_however_often_the_job_runs(
    settings, redis_url, tmp_path
):
    # Given a member and an uploaded file of their events
    async with db.connect(settings):
        member = await factories.member(
            external_id="crm-1", joined_at=factories.now() - timedelta(days=10)
        )
    path = write_events(tmp_path / "upload.csv", "crm-1", 12)

    # When the job runs twice for it (arq retried it), then once more under a slot of its own
    twice = await run_jobs(
        settings,
        redis_url,
        {"kind": "events", "path": str(path)},
        {"kind": "events", "path": str(path)},
    )  # arq runs jobs enqueued in the same millisecond in either order
    (named,) = await run_jobs(
        settings, redis_url, {"kind": "events", "path": str(path), "slot": "again"}
    )

    # Then the file is imported once; the other run is a no-op, the named one finds every
    # row recorded
    assert None in twice
    first = next(r for r in twice if r is not None)
    counts = {k: first[k] for k in ("read", "recorded", "duplicates", "rejected")}
    assert counts == {"read": 13, "recorded": 12, "duplicates": 0, "rejected": 1}
    assert first["rejections"] == [[14, "NotFound", "unknown member 'nobody'"]]
    assert first["rejected_path"] == f"{path}.rejected.csv"
    assert (named["recorded"], named["duplicates"]) == (0, 12)
    async with db.connect(settings):
        assert (await Member.get(id=member.id)).points_balance == 12 * 2
        assert await Event.all().count() == 12
        runs = await JobRun.filter(name="import_events").order_by("id")
        assert [(r.status, r.result["recorded"]) for r in runs] == [
            (JobRunStatus.DONE, 12),
            (JobRunStatus.DONE, 0),
        ]
        assert runs[1].slot == "again"


async def test_a_file_without_the_expected_header_fails_its_run(settings, redis_url, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,name\n1,Ada\n")

    (result,) = await run_jobs(settings, redis_url, {"kind": "members", "path": str(path)})

    assert "lacks the external_id column" in str(result)
    async with db.connect(settings):
        run = await JobRun.get(name="import_members")
        assert run.status == JobRunStatus.FAILED
        assert run.error.startswith("ImportRefused: ")
