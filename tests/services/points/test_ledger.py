"""Awarding points: ledger rows, atomic balances and idempotency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from app.models import Member, PointsLedgerEntry
from app.services.points.ledger import award_points, balance_mismatches
from app.services.shared.errors import IdempotencyConflict, InvalidInput, NotFound
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")


async def award(member_id: int, amount: int = 10, key: str = "k-1", reason: str = "Welcome"):
    return await award_points(
        member_id=member_id,
        amount=amount,
        reason=reason,
        idempotency_key=key,
        max_amount=100_000,
        now=factories.now(),
    )


async def test_an_award_writes_a_ledger_row_and_moves_the_balance():
    member = await factories.member()

    first = await award(member.id, 30, key="a")
    second = await award(member.id, 12, key="b")

    assert (first.entry.balance_after, second.entry.balance_after) == (30, 42)
    stored = await Member.get(id=member.id)
    assert (stored.points_balance, stored.lifetime_points) == (42, 42)
    deltas = await PointsLedgerEntry.filter(member_id=member.id).order_by("id")
    assert [e.delta for e in deltas] == [30, 12]
    assert not first.replayed and not second.replayed


async def test_a_repeated_key_returns_the_first_award_and_gives_nothing_more():
    member = await factories.member()
    first = await award(member.id, 25, key="order-7")

    again = await award(member.id, 25, key="order-7")

    assert again.replayed
    assert again.entry.id == first.entry.id
    assert (await Member.get(id=member.id)).points_balance == 25
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 1


async def test_a_key_reused_for_a_different_award_is_a_conflict_and_writes_nothing():
    member = await factories.member()
    other = await factories.member()
    await award(member.id, 25, key="order-8")

    for clash in (
        award(member.id, 26, key="order-8"),
        award(other.id, 25, key="order-8"),
        award(member.id, 25, key="order-8", reason="Something else"),
    ):
        with pytest.raises(IdempotencyConflict):
            await clash

    assert (await Member.get(id=member.id)).points_balance == 25
    assert (await Member.get(id=other.id)).points_balance == 0
    assert await PointsLedgerEntry.all().count() == 1


async def test_an_unknown_member_is_not_found_and_nothing_is_written():
    with pytest.raises(NotFound):
        await award(999_999)
    assert await PointsLedgerEntry.all().count() == 0


@pytest.mark.parametrize("amount", [0, -10, 100_001])
async def test_an_amount_out_of_bounds_is_refused_and_nothing_is_written(amount):
    member = await factories.member()
    with pytest.raises(InvalidInput) as refused:
        await award(member.id, amount)
    assert [p.field for p in refused.value.problems] == ["amount"]
    assert (await Member.get(id=member.id)).points_balance == 0
    assert await PointsLedgerEntry.all().count() == 0


async def test_200_concurrent_awards_to_one_member_all_count_exactly_once():
    member = await factories.member()

    results = await asyncio.gather(*(award(member.id, 10, key=f"c-{i}") for i in range(200)))

    stored = await Member.get(id=member.id)
    assert stored.points_balance == 2000
    entries = await PointsLedgerEntry.filter(member_id=member.id)
    assert len(entries) == 200
    assert sum(e.delta for e in entries) == 2000
    # Every award saw a distinct balance: no two read the same value and wrote over it.
    assert sorted(r.entry.balance_after for r in results) == list(range(10, 2001, 10))
    assert await balance_mismatches() == []


async def test_concurrent_retries_of_one_key_award_once():
    member = await factories.member()

    results = await asyncio.gather(*(award(member.id, 10, key="same") for _ in range(20)))

    assert sum(not r.replayed for r in results) == 1
    assert len({r.entry.id for r in results}) == 1
    assert (await Member.get(id=member.id)).points_balance == 10
