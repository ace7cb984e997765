"""Leaderboards over HTTP: definitions, reads, ties, privacy, flags and periods."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import uuid
from datetime import timedelta

import httpx
import pytest
from redis.asyncio import Redis

from app.api.leaderboards.cursors import encode_board_cursor
from app.api.shared.ids import encode_id
from app.auth import Role
from app.main import create_app
from app.models import AuditEntry, Leaderboard, Season
from app.services.leaderboards.reads import BoardView, Entry
from app.services.notifications.outbox import backlog
from gamification.leaderboards import Metric
from tests import factories
from tests.factories import bearer


async def create_board(client, **fields):
    body = await factories.operation(
        client,
        "CreateLeaderboard",
        input={
            "code": "points",
            "name": "Top earners",
            "metric": "POINTS_EARNED",
            "period": "ALL_TIME",
            **fields,
        },
    )
    return body["createLeaderboard"]


async def earn(member, amount: str, **extra):
    """An event worth points (purchase: points by amount)."""
    return await factories.event(member, "purchase", amount=amount, **extra)


async def board(client, code="points", **variables):
    body = await factories.operation(client, "Leaderboard", code=code, **variables)
    return body["leaderboard"]


def names(board_body) -> list[str]:
    return [e["node"]["member"]["displayName"] for e in board_body["entries"]["edges"]]


async def test_a_marketer_defines_a_board_and_the_audit_log_says_so(client):
    created = await create_board(client, description="Everyone, all time")
    assert created["__typename"] == "LeaderboardSaved"
    saved = created["leaderboard"]
    assert (saved["code"], saved["metric"], saved["period"], saved["excludeFlagged"]) == (
        "points",
        "POINTS_EARNED",
        "ALL_TIME",
        True,
    )
    entry = await AuditEntry.get(action="leaderboard.create")
    assert entry.after["code"] == "points"

    renamed = await factories.operation(
        client, "UpdateLeaderboard", id=saved["id"], input={"name": "Big spenders"}
    )
    assert renamed["updateLeaderboard"]["leaderboard"]["name"] == "Big spenders"
    archived = await factories.operation(client, "ArchiveLeaderboard", id=saved["id"])
    assert archived["archiveLeaderboard"]["leaderboard"]["archived"] is True
    again = await factories.operation(client, "ArchiveLeaderboard", id=saved["id"])
    assert again["archiveLeaderboard"]["leaderboard"]["archived"] is True
    assert await AuditEntry.filter(action="leaderboard.archive").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"period": "SEASON"}, "seasonId"),
        ({"tierCode": "diamond"}, "tierCode"),
        ({"code": "Not A Code"}, "code"),
        ({"name": " "}, "name"),
        (
            {
                "visibleFrom": "2026-12-01T00:00:00+08:00",
                "visibleTo": "2026-11-01T00:00:00+08:00",
            },
            "visibleTo",
        ),
    ],
)
async def test_a_bad_board_is_refused_field_by_field(client, fields, field):
    await factories.member()  # the ladder
    result = await create_board(client, **fields)
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert not await Leaderboard.exists()


async def test_a_board_code_is_unique(client):
    await create_board(client)
    result = await create_board(client)
    assert result["__typename"] == "ValidationFailed"
    assert result["problems"][0]["field"] == "code"


async def test_members_see_the_board_in_order_with_their_own_standing(client, client_as):
    await create_board(client)
    ann, bob, cat, dan = [
        await factories.member(display_name=n) for n in ("Ann", "Bob", "Cat", "Dan")
    ]
    await earn(bob, "300")
    await earn(ann, "100")
    await earn(cat, "200")
    # Dan has no score: no rank.

    seen = await board(await client_as(Role.MEMBER, cat), radius=1)
    assert names(seen) == ["Bob", "Cat", "Ann"]
    assert [e["node"]["rank"] for e in seen["entries"]["edges"]] == [1, 2, 3]
    assert seen["size"] == 3
    assert seen["me"] == {
        "rank": 2,
        "score": seen["entries"]["edges"][1]["node"]["score"],
        "public": True,
    }
    assert [e["member"]["displayName"] for e in seen["around"]] == ["Bob", "Cat", "Ann"]
    assert seen["entries"]["edges"][0]["node"]["member"]["tier"]["code"] == "member"

    nobody = await board(await client_as(Role.MEMBER, dan))
    assert nobody["me"] is None and nobody["around"] == []


async def test_equal_scores_go_to_whoever_got_there_first(client, client_as):
    await create_board(client)
    earlier = factories.now() - timedelta(seconds=30)
    late = await factories.member(display_name="Late", joined_at=earlier)
    early = await factories.member(display_name="Early", joined_at=earlier)
    # Early reaches the score first although its member id is higher.
    await earn(early, "100", at=earlier, now=earlier)
    await earn(late, "100")
    seen = await board(await client_as(Role.MEMBER, late))
    assert names(seen) == ["Early", "Late"]


async def test_a_member_who_opts_out_sees_its_rank_but_nobody_sees_it(client, client_as):
    await create_board(client)
    shy, bold, third = [await factories.member(display_name=n) for n in ("Shy", "Bold", "Third")]
    await earn(shy, "500")
    await earn(bold, "300")
    await earn(third, "100")

    hidden = await factories.operation(
        await client_as(Role.MEMBER, shy), "SetLeaderboardVisibility", visible=False
    )
    assert hidden["setLeaderboardVisibility"] == {
        "__typename": "LeaderboardVisibilitySet",
        "visible": False,
    }

    theirs = await board(await client_as(Role.MEMBER, bold))
    assert names(theirs) == ["Bold", "Third"]
    assert theirs["size"] == 2
    assert theirs["me"]["rank"] == 1
    own = await board(await client_as(Role.MEMBER, shy), radius=1)
    assert own["me"]["rank"] == 1 and own["me"]["public"] is False
    assert [e["member"]["displayName"] for e in own["around"]] == ["Bold"]

    await factories.operation(
        await client_as(Role.MEMBER, shy), "SetLeaderboardVisibility", visible=True
    )
    assert names(await board(await client_as(Role.MEMBER, bold))) == ["Shy", "Bold", "Third"]


async def test_an_admin_flag_takes_a_member_off_the_board(client, client_as):
    await create_board(client)
    cheat, fair = (
        await factories.member(display_name="Cheat"),
        await factories.member(display_name="Fair"),
    )
    await earn(cheat, "900")
    await earn(fair, "100")

    refused = await factories.operation(
        client, "FlagMember", memberId=encode_id("Member", cheat.id), flagged=True
    )
    assert refused["flagMember"]["__typename"] == "ValidationFailed"  # a reason is required
    flagged = await factories.operation(
        client,
        "FlagMember",
        memberId=encode_id("Member", cheat.id),
        flagged=True,
        reason="Scripted check-ins",
    )
    assert flagged["flagMember"]["flagged"] is True
    assert await AuditEntry.filter(action="member.flag").count() == 1

    assert names(await board(await client_as(Role.MEMBER, fair))) == ["Fair"]
    assert (await board(await client_as(Role.MEMBER, cheat)))["me"] is None


async def test_a_tier_board_ranks_only_that_tiers_members(client, client_as):
    await factories.task(code="big", reward_growth=1_000)  # a check-in promotes to Silver
    silver, plain = (
        await factories.member(display_name="Silver"),
        await factories.member(display_name="Plain"),
    )
    created = await create_board(client, code="silver-points", tierCode="silver")
    assert created["__typename"] == "LeaderboardSaved"
    await factories.event(silver, "check_in")
    await earn(plain, "900")
    seen = await board(await client_as(Role.MEMBER, plain), code="silver-points")
    assert names(seen) == ["Silver"]
    assert seen["me"] is None


async def test_periods_are_named_in_the_programmes_calendar(client, client_as):
    await create_board(client, code="daily", period="DAY")
    member = await factories.member(
        display_name="Ann", joined_at=factories.now() - timedelta(days=3)
    )
    yesterday = factories.now() - timedelta(days=1)
    await earn(member, "100", at=yesterday)
    await earn(member, "300")
    local_yesterday = yesterday.astimezone(factories.ZONE).date().isoformat()

    today = await board(await client_as(Role.MEMBER, member), code="daily")
    before = await board(await client_as(Role.MEMBER, member), code="daily", period=local_yesterday)
    assert before["periodKey"] == local_yesterday  # as people write it, and as it is taken
    assert today["me"]["score"] > before["me"]["score"] > 0
    assert today["periodKey"] == factories.now().astimezone(factories.ZONE).date().isoformat()

    response = await (await client_as(Role.MEMBER, member)).post(
        "/graphql",
        json={
            "query": 'query { leaderboard(code: "daily", period: "2026-W48") '
            "{ ... on Leaderboard { code } } }"
        },
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "2026-11-25" in body["errors"][0]["message"]


async def test_members_see_a_board_only_inside_its_window(client, client_as):
    later = (factories.now() + timedelta(days=2)).isoformat()
    await create_board(client, visibleFrom=later)
    member = await factories.member()
    hidden = await board(await client_as(Role.MEMBER, member))
    assert (hidden["__typename"], hidden["message"]) == (
        "NotFound",
        "Leaderboard points does not exist",
    )
    assert (await board(client))["code"] == "points"  # staff prepare it ahead


async def test_a_season_board_counts_its_season(client, client_as):
    season = await Season.create(
        code="double11",
        name="Double 11",
        starts_at=factories.now() - timedelta(days=1),
        ends_at=factories.now() + timedelta(days=1),
    )
    created = await create_board(
        client, code="d11", period="SEASON", seasonId=encode_id("Season", season.id)
    )
    assert created["leaderboard"]["seasonId"] == encode_id("Season", season.id)
    member = await factories.member(display_name="Ann")
    await earn(member, "100")
    seen = await board(await client_as(Role.MEMBER, member), code="d11")
    assert seen["periodKey"] == "double11"  # the season's code, not an internal id
    assert names(seen) == ["Ann"]
    named = await board(await client_as(Role.MEMBER, member), code="d11", period="double11")
    assert names(named) == ["Ann"]


async def test_pages_continue_after_their_cursor(client, client_as):
    await create_board(client)
    members = [await factories.member(display_name=f"M{n}") for n in range(5)]
    for n, member in enumerate(members):
        await earn(member, str(100 * (n + 1)))
    reader = await client_as(Role.MEMBER, members[0])
    first = await board(reader, first=2)
    assert names(first) == ["M4", "M3"]
    assert first["entries"]["pageInfo"]["hasNextPage"] is True
    # M0 climbs past everyone meanwhile: the next page neither repeats nor skips.
    await earn(members[0], "2000")
    second = await board(reader, first=2, after=first["entries"]["pageInfo"]["endCursor"])
    assert names(second) == ["M2", "M1"]


async def wait_for(predicate, seconds=5.0):
    for _ in range(int(seconds / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def relaying(settings):
    return settings.model_copy(update={"relay_outbox": True})


async def test_without_redis_only_a_single_process_database_caches_the_top(relaying, backend):
    application = create_app(relaying)
    async with application.router.lifespan_context(application):
        cache = application.state.graphql.public_pages
        # Several API processes on PostgreSQL would each count only the changes they
        # relayed themselves: without the Redis index to version boards, nothing is cached.
        assert (cache is not None) == (backend == "sqlite")


async def test_the_public_top_is_cached_until_the_board_changes(relaying, backend, request):
    settings = relaying
    if backend == "postgres":  # several processes: the Redis index versions the boards
        settings = settings.model_copy(
            update={
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": f"laurel-test-{uuid.uuid4().hex[:8]}:",
            }
        )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        staff = httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=bearer(settings, Role.ADMIN)
        )
        await create_board(staff)
        ann = await factories.member(display_name="Ann")
        await earn(ann, "100")
        member = httpx.AsyncClient(
            transport=transport,
            base_url="http://t",
            headers=bearer(settings, Role.MEMBER, member_id=ann.id),
        )
        cache = application.state.graphql.public_pages

        async def top() -> list[str]:
            body = await factories.operation(member, "LeaderboardTop", code="points")
            return names(body["leaderboard"])

        await wait_for(_relayed)  # the board's version has moved past Ann's event
        first = await factories.operation(member, "LeaderboardTop", code="points")
        hits = cache.hits
        again = await factories.operation(member, "LeaderboardTop", code="points")
        assert again == first and cache.hits == hits + 1
        assert names(first["leaderboard"]) == ["Ann"]
        # A page that names the caller (me, around) is never served from the cache.
        await factories.operation(member, "Leaderboard", code="points")
        await factories.operation(member, "Leaderboard", code="points")
        assert cache.hits == hits + 1

        bob = await factories.member(display_name="Bob")
        await earn(bob, "500")
        # The new version is a new key: the change shows once the relay has passed.
        await wait_for(lambda: _shows(top, ["Bob", "Ann"]))
        await staff.aclose()
        await member.aclose()


async def _relayed() -> bool:
    return await backlog() == 0


async def _shows(top, expected) -> bool:
    return await top() == expected


async def test_around_me_stops_at_the_top_and_the_bottom(client, client_as):
    await create_board(client)
    members = [await factories.member(display_name=f"M{n}") for n in range(5)]
    for n, member in enumerate(members):
        await earn(member, str(100 * (n + 1)))  # M4 leads, M0 trails

    top = await board(await client_as(Role.MEMBER, members[4]), radius=2)
    assert [e["rank"] for e in top["around"]] == [1, 2, 3]
    assert top["around"][0]["member"]["displayName"] == "M4"
    bottom = await board(await client_as(Role.MEMBER, members[0]), radius=2)
    assert [e["rank"] for e in bottom["around"]] == [3, 4, 5]
    assert bottom["around"][-1]["member"]["displayName"] == "M0"
    alone = await board(await client_as(Role.MEMBER, members[2]), radius=0)
    assert [e["member"]["displayName"] for e in alone["around"]] == ["M2"]


async def test_an_unknown_board_code_is_a_typed_not_found(client, client_as):
    member = await factories.member()
    body = await factories.graphql(
        await client_as(Role.MEMBER, member),
        'query { leaderboard(code: "nope") { __typename ... on NotFound { kind id message } } }',
    )
    assert body["data"]["leaderboard"] == {
        "__typename": "NotFound",
        "kind": "Leaderboard",
        "id": "nope",
        "message": "Leaderboard nope does not exist",
    }
    assert "errors" not in body


async def test_members_find_the_boards_they_can_join(client, client_as):
    now = factories.now()
    running = await Season.create(
        code="double11",
        name="Double 11",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    over = await Season.create(
        code="summer",
        name="Summer",
        starts_at=now - timedelta(days=30),
        ends_at=now - timedelta(days=2),
    )
    ann = await factories.member(display_name="Ann")  # the base tier (and the ladder)
    await create_board(client, code="points")
    await create_board(client, code="weekly", period="WEEK", metric="GROWTH")
    await create_board(client, code="silver-only", tierCode="silver")
    await create_board(client, code="later", visibleFrom=(now + timedelta(days=2)).isoformat())
    await create_board(
        client, code="d11", period="SEASON", seasonId=encode_id("Season", running.id)
    )
    await create_board(client, code="past", period="SEASON", seasonId=encode_id("Season", over.id))
    archived = await create_board(client, code="gone")
    await factories.operation(client, "ArchiveLeaderboard", id=archived["leaderboard"]["id"])
    await earn(ann, "100")

    boards = (await factories.operation(await client_as(Role.MEMBER, ann), "OpenLeaderboards"))[
        "openLeaderboards"
    ]

    year, week, _ = now.astimezone(factories.ZONE).isocalendar()
    assert [(b["code"], b["periodKey"]) for b in boards] == [
        ("points", "all-time"),
        ("weekly", f"{year}-W{week:02d}"),
        ("d11", "double11"),
    ]
    assert [b["metric"] for b in boards] == ["POINTS_EARNED", "GROWTH", "POINTS_EARNED"]
    assert boards[2]["season"]["code"] == "double11" and boards[0]["season"] is None
    assert [b["me"]["rank"] for b in boards] == [1, 1, 1]  # where Ann stands on each
    # Staff see the boards of every tier.
    staff = (await factories.operation(client, "OpenLeaderboards"))["openLeaderboards"]
    assert [b["code"] for b in staff] == ["points", "weekly", "silver-only", "d11"]


async def test_board_periods_read_as_people_write_them(client, client_as):
    now = factories.now()
    local = now.astimezone(factories.ZONE)
    season = await Season.create(
        code="double11",
        name="Double 11",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    for code, period in (("all", "ALL_TIME"), ("monthly", "MONTH"), ("weekly", "WEEK")):
        await create_board(client, code=code, period=period)
    await create_board(client, code="d11", period="SEASON", seasonId=encode_id("Season", season.id))
    member = await factories.member()
    reader = await client_as(Role.MEMBER, member)
    year, week, _ = local.isocalendar()
    expected_keys = {
        "all": "all-time",
        "monthly": f"{local:%Y-%m}",
        "weekly": f"{year}-W{week:02d}",
        "d11": "double11",
    }
    for code, key in expected_keys.items():
        assert (await board(reader, code=code))["periodKey"] == key
        # What a board shows as its period, it takes back as `period`.
        assert (await board(reader, code=code, period=key))["periodKey"] == key

    for code, wrong in (("all", "lifetime"), ("d11", f"season:{season.id}"), ("d11", "618")):
        body = await factories.graphql(
            reader,
            "query B($c: String!, $p: String) { leaderboard(code: $c, period: $p) "
            "{ ... on Leaderboard { periodKey } } }",
            {"c": code, "p": wrong},
        )
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "period"}


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


async def _bad_after(client, code: str, after: str) -> dict:
    body = await factories.graphql(
        client,
        "query B($c: String!, $a: String) { leaderboard(code: $c) "
        "{ ... on Leaderboard { entries(first: 2, after: $a) { edges { cursor } } } } }",
        {"c": code, "a": after},
    )
    return body["errors"][0]


async def test_a_board_cursor_names_no_member_and_only_its_board_takes_it(
    client, client_as, settings
):
    await create_board(client)
    await create_board(client, code="monthly", period="MONTH")
    members = [await factories.member(display_name=f"M{n}") for n in range(3)]
    for n, member in enumerate(members):
        await earn(member, str(100 * (n + 1)))  # M2 leads
    reader = await client_as(Role.MEMBER, members[0])
    page = await board(reader, first=3)
    cursors = [e["cursor"] for e in page["entries"]["edges"]]

    for cursor, member in zip(cursors, reversed(members), strict=True):
        raw = _raw(cursor)
        with pytest.raises(ValueError):
            json.loads(raw)  # not the [rank, member id, score] it used to be
        for encoded in (struct.pack(">Q", member.id), struct.pack(">q", member.id)):
            assert encoded not in raw
        assert encode_id("Member", member.id) not in cursor
    assert len(set(cursors)) == 3

    tampered = cursors[0][:-2] + ("A" if cursors[0][-2] != "A" else "B") + cursors[0][-1]
    old_style = base64.urlsafe_b64encode(json.dumps([1, members[2].id, 300]).encode()).decode()
    view = BoardView(board_id=1, metric=Metric.POINTS_EARNED, period_key="lifetime")
    other_secret = encode_board_cursor(
        Entry(rank=1, member_id=members[2].id, score=300), board=view, secret="x" * 40
    )
    for bad, code in (
        (tampered, "points"),
        (old_style, "points"),
        (other_secret, "points"),
        (cursors[0], "monthly"),  # another board's cursor
        ("%%%not base64%%%", "points"),
        ("A" * 5000, "points"),
    ):
        error = await _bad_after(reader, code, bad)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, bad


@pytest.fixture(params=["sql", "index"])
async def board_reader(request, settings, backend):
    """An app whose board reads come from SQL, or from the Redis index only (SQL page
    reads fail), with clients made per member; the index is filled by the relay."""
    reader = request.param
    settings = settings.model_copy(update={"relay_outbox": True})
    if reader == "index":
        settings = settings.model_copy(
            update={
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": f"laurel-test-{uuid.uuid4().hex[:8]}:",
            }
        )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        clients = []

        def make(member=None) -> httpx.AsyncClient:
            role = Role.ADMIN if member is None else Role.MEMBER
            extra = {} if member is None else {"member_id": member.id}
            clients.append(
                httpx.AsyncClient(
                    transport=transport,
                    base_url="http://t",
                    headers=bearer(settings, role, **extra),
                )
            )
            return clients[-1]

        def only_the_index() -> None:
            if reader == "index":
                reads = application.state.running.boards
                assert reads.index is not None

                async def refuse(*args, **kwargs):
                    raise AssertionError("the index should have answered")

                reads.sql = type("NoSql", (), {"page": refuse, "size": refuse})()

        yield make, only_the_index
        for client in clients:
            await client.aclose()
        if reader == "index":
            redis = Redis.from_url(settings.redis_url)
            keys = [k async for k in redis.scan_iter(match=settings.redis_prefix + "*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


async def test_board_pages_continue_after_their_cursor_on_each_reader(board_reader):
    make, only_the_index = board_reader
    await create_board(make())
    members = [await factories.member(display_name=f"M{n}") for n in range(5)]
    for n, member in enumerate(members):
        await earn(member, str(100 * (n + 1)))
    await wait_for(_relayed)
    only_the_index()
    reader = make(members[0])

    first = await board(reader, first=2)
    assert names(first) == ["M4", "M3"]
    assert first["entries"]["pageInfo"]["hasNextPage"] is True
    assert first["entries"]["pageInfo"]["hasPreviousPage"] is False
    # M0 climbs past everyone meanwhile: the next pages neither repeat nor skip.
    await earn(members[0], "2000")
    await wait_for(_relayed)
    second = await board(reader, first=2, after=first["entries"]["pageInfo"]["endCursor"])
    assert names(second) == ["M2", "M1"]
    assert second["entries"]["pageInfo"]["hasPreviousPage"] is True
    last = await board(reader, first=2, after=second["entries"]["pageInfo"]["endCursor"])
    assert names(last) == [] and last["entries"]["pageInfo"]["hasNextPage"] is False
    assert last["entries"]["pageInfo"]["hasPreviousPage"] is True
