"""``audited``: the one way an operator change reaches the audit log."""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from app.models import AuditEntry, Season
from app.services.shared.audit import Actor, audited
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

ROOT = Path(__file__).resolve().parents[3]
ADMIN = Actor(subject="ada", role="admin")
FIELDS = ("code", "name")


async def season(code: str = "spring") -> Season:
    now = factories.now()
    return await Season.create(
        code=code, name="Spring", starts_at=now, ends_at=now + timedelta(days=7)
    )


async def test_a_change_is_recorded_with_its_row_before_and_after():
    row = await season()
    now = factories.now()

    async with (
        in_transaction() as conn,
        audited(conn, actor=ADMIN, action="season.update", subject=row, fields=FIELDS, now=now),
    ):
        row.name = "Spring Festival"
        await row.save(using_db=conn)

    entry = await AuditEntry.get()
    assert (entry.actor, entry.actor_role, entry.action) == ("ada", "admin", "season.update")
    assert (entry.target_type, entry.target_id) == ("Season", str(row.id))
    assert entry.before == {"code": "spring", "name": "Spring"}
    assert entry.after == {"code": "spring", "name": "Spring Festival"}
    assert entry.at == now


async def test_a_created_row_has_nothing_before_and_notes_join_its_fields_after():
    async with (
        in_transaction() as conn,
        audited(
            conn, actor=ADMIN, action="season.create", fields=FIELDS, now=factories.now()
        ) as change,
    ):
        row = change.created(await season())
        change.note(tasks=0)

    entry = await AuditEntry.get()
    assert (entry.target_id, entry.before) == (str(row.id), None)
    assert entry.after == {"code": "spring", "name": "Spring", "tasks": 0}


async def test_a_removed_row_has_nothing_after():
    row = await season()
    async with (
        in_transaction() as conn,
        audited(
            conn,
            actor=ADMIN,
            action="season.delete",
            subject=row,
            fields=FIELDS,
            now=factories.now(),
        ) as change,
    ):
        await Season.filter(id=row.id).using_db(conn).delete()
        change.removed()

    entry = await AuditEntry.get()
    assert (entry.before, entry.after) == ({"code": "spring", "name": "Spring"}, None)


@pytest.mark.parametrize("outcome", ["raises", "no actor", "unchanged"])
async def test_nothing_is_recorded_when_nothing_is_done_by_a_person(outcome):
    row = await season()

    with pytest.raises(RuntimeError) if outcome == "raises" else nullcontext():
        async with (
            in_transaction() as conn,
            audited(
                conn,
                actor=None if outcome == "no actor" else ADMIN,
                action="season.update",
                subject=row,
                fields=FIELDS,
                now=factories.now(),
            ) as change,
        ):
            if outcome == "raises":
                raise RuntimeError("the change failed")
            if outcome == "unchanged":
                change.unchanged()

    assert await AuditEntry.all().count() == 0


def test_use_cases_write_audit_rows_only_through_audited():
    writes = re.compile(r"AuditEntry\.(create|bulk_create)|audit\.record\(")
    found = sorted(
        str(path.relative_to(ROOT))
        for layer in ("services", "api")
        for path in (ROOT / "app" / layer).rglob("*.py")
        if writes.search(path.read_text())
    )
    assert found == ["app/services/shared/audit.py"]
