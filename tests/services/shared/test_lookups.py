"""A row by its key or NotFound, read or locked: one helper for every use case."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from app.models import Season
from app.services.shared.errors import NotFound
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

ROOT = Path(__file__).resolve().parents[3]


async def season(code: str) -> Season:
    now = factories.now()
    return await Season.create(code=code, name=code, starts_at=now, ends_at=now + timedelta(days=7))


async def test_a_row_is_found_by_id_or_by_another_unique_key():
    spring = await season("spring")
    await season("summer")

    async with in_transaction() as conn:
        locked = await get_locked_or_not_found(Season, spring.id, conn=conn)
        by_code = await get_locked_or_not_found(Season, "summer", conn=conn, code="summer")

    assert (locked.code, by_code.code) == ("spring", "summer")
    assert (await get_or_not_found(Season, "spring", code="spring")).id == spring.id


async def test_a_missing_row_is_not_found_under_its_model_and_key():
    async with in_transaction() as conn:
        with pytest.raises(NotFound) as locked:
            await get_locked_or_not_found(Season, 404, conn=conn)
    with pytest.raises(NotFound) as read:
        await get_or_not_found(Season, "autumn", code="autumn")

    assert (locked.value.kind, locked.value.key) == ("Season", 404)
    assert (read.value.kind, read.value.key) == ("Season", "autumn")


def test_use_cases_lock_rows_through_the_helper():
    # The one lock taken by hand: reversals lock the member of an event known to exist.
    found = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app" / "services").rglob("*.py")
        if re.search(r"select_for_update\(\)", path.read_text())
    )
    assert found == ["app/services/activity/reversals.py", "app/services/shared/lookups.py"]
