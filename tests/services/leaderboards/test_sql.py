"""The SQL board reader: order, filters and ranks straight from the truth tables."""

from __future__ import annotations

import pytest

from app.services.leaderboards.sql import SqlBoardReader
from tests import factories
from tests.services.leaderboards.boards import (
    T0,
    board,
    everything,
    expected,
    prefer,
    score,
    seconds,
    view_of,
)

pytestmark = pytest.mark.usefixtures("orm")


async def test_equal_scores_go_to_who_reached_them_first_then_to_the_lower_sequence():
    # Member ids run against the expected order: ties must never fall back to them.
    late, same_second_later, same_second_first, first = [await factories.member() for _ in range(4)]
    await score(late, 10, at=T0 + seconds(2), seq=1)
    await score(same_second_later, 10, at=T0 + seconds(1), seq=9)
    await score(same_second_first, 10, at=T0 + seconds(1), seq=7)
    await score(first, 10, at=T0, seq=8)
    view = view_of(await board())
    reader = SqlBoardReader()

    page = await everything(reader, view)

    assert [e.member_id for e in page] == [
        first.id,
        same_second_first.id,
        same_second_later.id,
        late.id,
    ]
    assert [e.rank for e in page] == [1, 2, 3, 4]
    standing = await reader.standing(view, same_second_later.id)
    assert standing is not None and standing.rank == 3 and standing.on_board
    assert standing.reached_at == T0 + seconds(1)


async def test_opted_out_and_flagged_members_are_off_the_board_and_learn_where_they_would_be():
    top, hidden, flagged, last = [await factories.member() for _ in range(4)]
    for n, member in enumerate((top, hidden, flagged, last)):
        await score(member, 100 - n, seq=n + 1)
    await prefer(hidden, visible=False)
    await prefer(flagged, flagged=True)
    strict = view_of(await board())
    lenient = view_of(await board(exclude_flagged=False))
    reader = SqlBoardReader()

    assert [e.member_id for e in await everything(reader, strict)] == [top.id, last.id]
    assert [e.member_id for e in await everything(reader, lenient)] == [top.id, flagged.id, last.id]
    assert await reader.size(strict) == 2
    assert await reader.size(lenient) == 3
    standing = await reader.standing(strict, hidden.id)
    assert standing is not None and (standing.rank, standing.on_board) == (2, False)
    assert await reader.standing(strict, flagged.id) is None
    lenient_flagged = await reader.standing(lenient, flagged.id)
    assert lenient_flagged is not None and lenient_flagged.rank == 2
    last_standing = await reader.standing(strict, last.id)
    assert last_standing is not None and last_standing.rank == 2


async def test_a_tier_board_ranks_only_members_currently_in_that_tier():
    from tests.services.leaderboards.boards import move_to_tier

    silver, member = await factories.member(), await factories.member()
    await move_to_tier(silver, "silver")
    await score(member, 50, seq=1)
    await score(silver, 10, seq=2)
    view = view_of(await board(tier_code="silver"))
    reader = SqlBoardReader()

    assert [(e.rank, e.member_id) for e in await everything(reader, view)] == [(1, silver.id)]
    assert await reader.size(view) == 1
    assert await reader.standing(view, member.id) is None
    standing = await reader.standing(view, silver.id)
    assert standing is not None and standing.rank == 1


async def test_pages_are_windows_of_the_order_and_end_at_the_bottom():
    members = [await factories.member() for _ in range(7)]
    for n, member in enumerate(members):
        await score(member, 10 * (7 - n), seq=n + 1)
    view = view_of(await board())
    reader = SqlBoardReader()
    order = [m for m, _ in await expected(view)]

    assert [e.member_id for e in await reader.page(view, offset=2, limit=3)] == order[2:5]
    assert [e.rank for e in await reader.page(view, offset=5, limit=3)] == [6, 7]
    assert await reader.page(view, offset=7, limit=3) == []
    assert [e.rank for e in await reader.page(view, offset=-4, limit=2)] == [1, 2]
    assert await reader.standing(view, (await factories.member()).id) is None
