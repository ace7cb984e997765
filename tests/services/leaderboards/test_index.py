"""The Redis index of boards: the same answers as SQL, kept current by the relay's sink."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from app.models import Leaderboard, LeaderboardScore, Member, Tier
from app.services.leaderboards.index import (
    MEMBER_CHANGED,
    BoardKeys,
    BoardReads,
    NotIndexed,
    RedisBoardIndex,
)
from app.services.leaderboards.reads import BoardView
from app.services.leaderboards.sql import SqlBoardReader
from app.services.members.lifecycle import deactivate_member, reactivate_member
from app.services.notifications.outbox import OutboxEntry
from app.services.shared.audit import Actor
from gamification.leaderboards import Metric, Period
from tests import factories
from tests.services.leaderboards.boards import (
    T0,
    board,
    everything,
    expected,
    move_to_tier,
    moved,
    prefer,
    score,
    seconds,
    view_of,
)

pytestmark = pytest.mark.usefixtures("orm")
LIFETIME = (Metric.POINTS_EARNED, "lifetime")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def new_index(redis: Redis):
    """Makes indexes with prefixes of their own; their keys are deleted after the test."""
    prefixes: list[str] = []

    def make(**kwargs) -> RedisBoardIndex:
        prefixes.append(f"test-{uuid.uuid4().hex[:10]}:")
        return RedisBoardIndex(redis, prefix=prefixes[-1], zone=factories.ZONE, **kwargs)

    yield make
    for prefix in prefixes:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
def index(new_index) -> RedisBoardIndex:
    return new_index()


async def same_answers(view: BoardView, *readers) -> None:
    """Every reader gives the order worked out in Python, and the same sizes and standings."""
    want = await expected(view)
    members = [m.id for m in await Member.all()]
    sql = SqlBoardReader()
    for reader in readers:
        page = await everything(reader, view)
        assert [(e.member_id, e.score) for e in page] == want, reader
        assert [e.rank for e in page] == list(range(1, len(want) + 1))
        assert await reader.size(view) == len(want)
        for member_id in members:
            assert await reader.standing(view, member_id) == await sql.standing(view, member_id)
        for offset, limit in ((0, 2), (1, 3), (len(want) - 1, 5)):
            window = await reader.page(view, offset=offset, limit=limit)
            assert [(e.member_id, e.score) for e in window] == want[offset : offset + limit]


async def test_ties_in_the_index_follow_the_second_then_the_sequence(index):
    late, later_seq, earlier_seq, first = [await factories.member() for _ in range(4)]
    await score(late, 10, at=T0 + seconds(2), seq=1)
    await score(later_seq, 10, at=T0 + seconds(1), seq=9)
    await score(earlier_seq, 10, at=T0 + seconds(1), seq=7)
    await score(first, 10, at=T0, seq=8)
    created = await board()
    view = view_of(created)

    assert await index.rebuild(created, "lifetime") == 4

    page = await everything(index, view)
    assert [e.member_id for e in page] == [first.id, earlier_seq.id, later_seq.id, late.id]
    await same_answers(view, index)


async def test_an_update_writes_the_truth_so_repeats_and_reorders_change_nothing(index):
    a, b = await factories.member(), await factories.member()
    created = await board()
    view = view_of(created)
    await score(a, 5, seq=1)
    await index.apply([moved(a.id, LIFETIME)])  # builds the missing current key
    await score(b, 7, seq=2)
    await score(a, 9, at=T0 + seconds(5), seq=3)
    first = await index.version(view)

    # The later change relayed twice and before the earlier one: the truth is written.
    await index.apply([moved(a.id, LIFETIME), moved(a.id, LIFETIME), moved(b.id, LIFETIME)])
    await index.apply([moved(b.id, LIFETIME)])

    assert [(e.member_id, e.score) for e in await everything(index, view)] == [(a.id, 9), (b.id, 7)]
    assert await index.version(view) == first + 1  # only the write that changed something
    await same_answers(view, index)


async def test_preferences_and_tiers_take_members_off_and_back_on(index):
    a, b, c = [await factories.member() for _ in range(3)]
    plain = await board()
    silver = await board(tier_code="silver")
    for n, member in enumerate((a, b, c)):
        await score(member, 30 - n, seq=n + 1)
    await move_to_tier(b, "silver")
    await index.apply([moved(m.id, LIFETIME) for m in (a, b, c)])
    await same_answers(view_of(plain), index)
    await same_answers(view_of(silver), index)

    await prefer(a, visible=False)
    await prefer(c, flagged=True)
    await move_to_tier(a, "silver")
    entries = [
        OutboxEntry(id=0, topic=MEMBER_CHANGED, payload={"member_id": m.id}, created_at=T0)
        for m in (a, c)
    ]
    await index.apply(entries)

    assert [e.member_id for e in await everything(index, view_of(plain))] == [b.id]
    opted_out = await index.standing(view_of(plain), a.id)
    assert opted_out is not None and (opted_out.rank, opted_out.on_board) == (1, False)
    assert await index.standing(view_of(plain), c.id) is None
    await same_answers(view_of(plain), index)
    await same_answers(view_of(silver), index)

    await move_to_tier(b, "member")
    await index.apply(
        [
            OutboxEntry(
                id=0,
                topic="event.recorded",
                payload={"member_id": b.id, "scores": [], "tierChange": {"from": "silver"}},
                created_at=T0,
            )
        ]
    )
    # Nobody is left on the silver board: the set is gone and SQL answers.
    with pytest.raises(NotIndexed):
        await index.size(view_of(silver))
    assert await SqlBoardReader().size(view_of(silver)) == 0


async def test_a_deactivated_member_is_off_every_board_until_reactivated(index, new_index):
    gone, here = await factories.member(), await factories.member()
    plain = await board()
    keeps_flagged = await board(exclude_flagged=False)
    await score(gone, 50, seq=1)
    await score(here, 10, seq=2)
    await index.apply([moved(m.id, LIFETIME) for m in (gone, here)])
    admin = Actor(subject="test", role="admin")
    changed = OutboxEntry(id=0, topic=MEMBER_CHANGED, payload={"member_id": gone.id}, created_at=T0)

    await deactivate_member(member_id=gone.id, reason="Closed", actor=admin, now=factories.now())
    await index.apply([changed])

    rebuilt = new_index()
    await rebuilt.rebuild(plain, "lifetime")
    await rebuilt.rebuild(keeps_flagged, "lifetime")
    for view in (view_of(plain), view_of(keeps_flagged)):
        assert [e.member_id for e in await everything(index, view)] == [here.id]
        await same_answers(view, index, rebuilt)

    await reactivate_member(member_id=gone.id, actor=admin, now=factories.now())
    await index.apply([changed])

    for view in (view_of(plain), view_of(keeps_flagged)):
        assert [e.member_id for e in await everything(index, view)] == [gone.id, here.id]
        await same_answers(view, index)


async def test_a_finished_periods_key_expires_and_one_update_does_not_bring_it_back(new_index):
    index = new_index(retention=timedelta(days=2))
    member = await factories.member()
    week = await board(period=Period.WEEK)
    past, current = "week:2020-W10", "week:2099-W10"  # long over; not yet over
    await score(member, 4, seq=1, period_key=past)
    await score(member, 4, seq=1, period_key=current)

    await index.apply([moved(member.id, (Metric.POINTS_EARNED, past))])
    with pytest.raises(NotIndexed):
        await index.size(view_of(week, past))

    await index.rebuild(week, past)  # an operator asks for it back: it expires again
    keys = BoardKeys.of(index.prefix, week.id, past)
    assert 0 < await index.redis.ttl(keys.z) <= 2 * 86400 or await index.redis.exists(keys.z) == 0

    await index.apply([moved(member.id, (Metric.POINTS_EARNED, current))])
    assert await index.size(view_of(week, current)) == 1
    ttl = await index.redis.ttl(BoardKeys.of(index.prefix, week.id, current).z)
    assert ttl > 86400 * 365


async def test_reads_fall_back_to_sql_without_a_key_or_without_redis(index):
    member = await factories.member()
    await score(member, 3, seq=1)
    view = view_of(await board())
    reads = BoardReads(sql=SqlBoardReader(), index=index)
    assert [e.member_id for e in await reads.page(view, offset=0, limit=5)] == [member.id]

    gone = RedisBoardIndex(
        Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2),
        prefix="nowhere:",
        zone=factories.ZONE,
    )
    outage = BoardReads(sql=SqlBoardReader(), index=gone, timeout=0.5)
    try:
        assert await outage.size(view) == 1
        standing = await outage.standing(view, member.id)
        assert standing is not None and standing.rank == 1
        assert outage._usable() is None  # left alone for a while
    finally:
        await gone.redis.aclose()


async def test_pages_of_one_version_tile_the_board_and_a_change_bumps_the_version(index):
    members = [await factories.member() for _ in range(9)]
    for n, member in enumerate(members):
        await score(member, 100 - 3 * n, seq=n + 1)
    created = await board()
    view = view_of(created)
    await index.rebuild(created, "lifetime")
    version = await index.version(view)

    pages = [await index.page(view, offset=o, limit=4) for o in (0, 4, 8)]
    assert [e.member_id for p in pages for e in p] == [m for m, _ in await expected(view)]
    assert await index.version(view) == version

    await score(members[-1], 1000, seq=50)
    await index.apply([moved(members[-1].id, LIFETIME)])
    assert await index.version(view) > version  # a cached or paged view knows to re-read
    assert (await index.page(view, offset=0, limit=1))[0].member_id == members[-1].id


async def test_a_rebuild_equals_the_incremental_index(new_index):
    incremental, rebuilt = new_index(), new_index()
    members = [await factories.member() for _ in range(6)]
    created = await board()
    seq = itertools.count(1)
    for round_ in range(3):
        for n, member in enumerate(members):
            await score(member, (n * 7 + round_ * 5) % 11, at=T0 + seconds(n % 2), seq=next(seq))
            await incremental.apply([moved(member.id, LIFETIME)])
    await rebuilt.rebuild(created, "lifetime")
    view = view_of(created)
    assert await everything(incremental, view) == await everything(rebuilt, view)
    await same_answers(view, incremental, rebuilt)


async def test_writes_during_a_rebuild_reach_the_rebuilt_set(index, monkeypatch):
    a, b = await factories.member(), await factories.member()
    created = await board()
    await score(a, 1, seq=1)
    await score(b, 2, seq=2)
    await index.apply([moved(a.id, LIFETIME)])
    original = index._stream_into

    async def stream_then_change(*args, **kwargs):
        copied = await original(*args, **kwargs)
        # The copy is taken; a change commits and is relayed before the swap.
        await score(a, 50, seq=3)
        await index.apply([moved(a.id, LIFETIME)])
        return copied

    monkeypatch.setattr(index, "_stream_into", stream_then_change)
    await index.rebuild(created, "lifetime")

    view = view_of(created)
    assert [(e.member_id, e.score) for e in await everything(index, view)] == [
        (a.id, 50),
        (b.id, 2),
    ]


STATES = st.sampled_from(["visible", "opted-out", "flagged"])
ROWS = st.lists(
    st.tuples(
        st.integers(0, 7),  # member (index into the pool)
        st.integers(-3, 6),  # score: a small range, so ties are common
        st.integers(0, 2),  # second reached
    ),
    min_size=1,
    max_size=20,
)
_weeks = itertools.count(1)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=ROWS,
    states=st.lists(STATES, min_size=8, max_size=8),
    silver=st.lists(st.booleans(), min_size=8, max_size=8),
    tier_board=st.booleans(),
    exclude_flagged=st.booleans(),
)
async def test_sql_and_redis_agree_on_any_board(
    new_index, rows, states, silver, tier_board, exclude_flagged
):
    pool = list(await Member.all().order_by("id"))
    while len(pool) < 8:
        pool.append(await factories.member())
    tiers = {t.code: t.id for t in await Tier.all()}
    for member, state, in_silver in zip(pool, states, silver, strict=True):
        await prefer(member, visible=state != "opted-out", flagged=state == "flagged")
        await Member.filter(id=member.id).update(tier_id=tiers["silver" if in_silver else "member"])
    await Leaderboard.filter(archived_at__isnull=True).update(archived_at=factories.now())
    created = await board(
        period=Period.WEEK,
        tier_code="silver" if tier_board else None,
        exclude_flagged=exclude_flagged,
    )
    n = next(_weeks)
    period_key = f"week:{2090 + n // 50}-W{n % 50 + 1:02d}"  # a fresh, current week
    pair = (Metric.POINTS_EARNED, period_key)
    incremental, rebuilt = new_index(), new_index()
    seq = await LeaderboardScore.all().count() + 1000 * n

    for position, (who, value, second) in enumerate(rows):
        member = pool[who]
        await score(
            member, value, at=T0 + seconds(second), seq=seq + position, period_key=period_key
        )
        await incremental.apply([moved(member.id, pair)])
    await rebuilt.rebuild(created, period_key)

    view = view_of(created, period_key)
    try:
        # An empty board has no set at all (reads go to SQL).
        indexes = [rebuilt, incremental] if await expected(view) else []
        await same_answers(view, SqlBoardReader(), *indexes)
    finally:
        await LeaderboardScore.filter(period_key=period_key).delete()


async def test_an_erased_member_leaves_the_index_by_the_rows_its_erasure_wrote(index):
    from app.models import OutboxMessage
    from app.services.members.privacy import erase_member

    gone, here = await factories.member(), await factories.member()
    plain = await board()
    await score(gone, 50, seq=1)
    await score(here, 10, seq=2)
    await index.apply([moved(m.id, LIFETIME) for m in (gone, here)])
    last = await OutboxMessage.all().order_by("-id").first()
    admin = Actor(subject="test", role="admin")

    await erase_member(
        member_id=gone.id, confirm=gone.external_id, actor=admin, now=factories.now()
    )
    written = await OutboxMessage.filter(id__gt=last.id if last else 0).order_by("id")
    await index.apply([OutboxEntry(r.id, r.topic, r.payload, r.created_at) for r in written])

    assert [e.member_id for e in await everything(index, view_of(plain))] == [here.id]
    await same_answers(view_of(plain), index)
