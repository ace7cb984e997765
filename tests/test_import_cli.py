"""`laurel import members|events FILE.csv` end to end: the real command in a process of its
own, on a temporary SQLite database."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app import db
from app.config import Settings
from app.models import CouponCode, Event, Member
from tests import factories

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture
def database(tmp_path: Path) -> Settings:
    """A migrated SQLite file (migrated by the command itself) with a ladder published."""
    url = f"sqlite://{tmp_path / 'laurel.sqlite3'}"
    migrated = laurel("migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    settings = Settings(database_url=url, jwt_secret="s" * 40, load_demo=False, redis_url=None)

    async def given() -> None:
        async with db.connect(settings):
            await factories.ladder()

    asyncio.run(given())
    return settings


def laurel(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env["LAUREL_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    return path


def test_members_then_their_history_are_imported_and_a_second_run_credits_nothing(
    tmp_path, database
):
    # Given a file of members who joined long ago and a file of their history, 60 days back
    now = factories.now()
    joined = (now - timedelta(days=400)).isoformat()
    members = write_csv(
        tmp_path / "members.csv",
        [
            ["external_id", "display_name", "birthday", "joined_at"],
            ["crm-1", "Ada", "1990-02-03", joined],
            ["crm-2", "Bob", "", joined],
            ["crm-3", "", "", ""],
        ],
    )
    events = write_csv(
        tmp_path / "events.csv",
        [
            ["idempotency_key", "external_member_id", "type", "occurred_at", "amount"],
            *[
                [
                    f"h-{n}",
                    f"crm-{n % 2 + 1}",
                    "purchase",
                    (now - timedelta(days=n)).isoformat(),
                    "10",
                ]
                for n in range(1, 61)
            ],
            ["h-x", "crm-9", "check_in", now.isoformat(), ""],
        ],
    )
    url = database.database_url

    # When both are imported, history with the backfill window lifted to 90 days
    enrolled = laurel("import", "members", str(members), database_url=url)
    recorded = laurel("import", "events", str(events), "--backfill-days", "90", database_url=url)
    again = laurel("import", "events", str(events), "--backfill-days", "90", database_url=url)

    # Then each prints its summary and exits 0 though rows were rejected
    assert enrolled.returncode == 0, enrolled.stderr
    assert enrolled.stdout.startswith(
        "members: read 3, recorded 2, duplicates 0, rejected 1 in "
    ), enrolled.stdout
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout.startswith("events: read 61, recorded 60, duplicates 0, rejected 1 in ")
    assert f"rows/s); rejected rows in {events}.rejected.csv" in recorded.stdout
    assert "rows/s" in recorded.stderr and "ETA" in recorded.stderr  # the progress bar
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("events: read 61, recorded 0, duplicates 60, rejected 1 in ")
    with (tmp_path / "events.csv.rejected.csv").open(newline="") as file:
        assert list(csv.reader(file))[1][:3] == ["62", "NotFound", "unknown member 'crm-9'"]
    assert (
        (tmp_path / "members.csv.rejected.csv")
        .read_text()
        .splitlines()[1]
        .startswith("4,ValidationFailed,displayName: must not be empty,crm-3")
    )

    async def balances() -> list[int]:
        async with db.connect(database):
            assert await Event.all().count() == 60
            return list(
                await Member.all().order_by("external_id").values_list("points_balance", flat=True)
            )

    assert asyncio.run(balances()) == [300, 300]  # 30 purchases of 10 each, once


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        ("events", "idempotency_key,external_member_id,occurred_at\n", "lacks the type column"),
        ("members", "external_id;display_name\n", "has unknown columns 'external_id;display_name'"),
        ("events", None, "cannot read .*missing.csv: No such file or directory"),
    ],
)
def test_a_file_that_cannot_be_imported_fails_the_command(
    tmp_path, database, kind, content, message
):
    # Given a file with the wrong header (or none at all)
    path = tmp_path / "missing.csv"
    if content is not None:
        path.write_text(content)

    # When it is imported
    result = laurel("import", kind, str(path), database_url=database.database_url)

    # Then the command fails with the reason and writes no report
    assert result.returncode == 1
    assert result.stdout == ""
    assert re.search(f"^laurel: .*{message}", result.stderr), result.stderr
    assert not (tmp_path / "missing.csv.rejected.csv").exists()


def test_coupon_codes_are_imported_into_a_rewards_pool_and_a_second_run_adds_none(
    tmp_path, database
):
    # Given a coupon reward and a file of codes (one already in the pool, one repeated)
    async def given() -> None:
        async with db.connect(database):
            reward = await factories.reward(code="shoe", issues_coupons=True)
            await CouponCode.create(reward=reward, code="SHOE-1", created_at=factories.now())

    asyncio.run(given())
    codes = write_csv(
        tmp_path / "codes.csv", [["code"], ["SHOE-1"], ["SHOE-2"], ["SHOE-3"], ["SHOE-2"]]
    )

    # When it is imported twice
    first = laurel("import", "coupons", "shoe", str(codes), database_url=database.database_url)
    again = laurel("import", "coupons", "shoe", str(codes), database_url=database.database_url)

    # Then the new codes are added once
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "2 codes added to shoe (1 already in the pool); 3 of 3 left"
    assert again.stdout.strip() == "0 codes added to shoe (3 already in the pool); 3 of 3 left"


def test_a_coupon_import_names_what_is_wrong(tmp_path, database):
    bad = write_csv(tmp_path / "bad.csv", [["code"], ["not a code"]])

    unknown = laurel("import", "coupons", "nope", str(bad), database_url=database.database_url)
    missing = laurel("import", "coupons", str(bad), database_url=database.database_url)

    assert unknown.returncode != 0 and "no reward with the code 'nope'" in unknown.stderr
    assert missing.returncode != 0 and "usage: laurel import coupons REWARD FILE" in missing.stderr
