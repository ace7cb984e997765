"""The `laurel token` command: development tokens the server accepts, never in production."""

from __future__ import annotations

import pytest

from app.auth import Role, decode_token
from app.cli import main
from app.config import Settings
from app.services.programme.demo import load_demo
from tests import factories


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url):
    for name in ("ENV", "JWT_SECRET", "REDIS_URL"):
        monkeypatch.delenv(f"LAUREL_{name}", raising=False)
    monkeypatch.setenv("LAUREL_DATABASE_URL", database_url)
    monkeypatch.setenv("LAUREL_DEV_SECRET_FILE", str(tmp_path / "dev-jwt-secret"))


@pytest.mark.usefixtures("environment")
def test_a_development_token_is_accepted_by_the_server_settings(capsys):
    main(["token", "--role", "marketer"])

    token = capsys.readouterr().out.strip()
    principal = decode_token(
        token, settings=Settings(), now=factories.now()
    )  # another process, same secret
    assert principal.role is Role.MARKETER


@pytest.mark.usefixtures("environment")
def test_a_member_token_is_bound_to_the_member(capsys, settings):
    import asyncio

    from app import db
    from app.models import Member

    async def load():
        async with db.connect(settings):
            await load_demo(now=factories.now())
            return (await Member.get(external_id="demo-0007")).id

    member_id = asyncio.run(load())

    main(["token", "--role", "member", "--member", "demo-0007"])

    principal = decode_token(
        capsys.readouterr().out.strip(), settings=Settings(), now=factories.now()
    )
    assert (principal.role, principal.member_id) == (Role.MEMBER, member_id)


@pytest.mark.usefixtures("environment")
def test_tokens_are_never_minted_in_production(monkeypatch):
    monkeypatch.setenv("LAUREL_ENV", "production")
    monkeypatch.setenv("LAUREL_JWT_SECRET", "p" * 40)
    with pytest.raises(SystemExit, match="refusing"):
        main(["token", "--role", "admin"])


@pytest.mark.usefixtures("environment")
def test_a_member_token_needs_a_known_member():
    with pytest.raises(SystemExit, match="--member"):
        main(["token", "--role", "member"])


@pytest.mark.usefixtures("environment")
def test_rebuild_leaderboard_copies_the_board_to_redis_with_a_progress_bar(
    monkeypatch, capsys, settings, redis_url
):
    import asyncio
    import uuid

    from redis.asyncio import Redis

    from app import db
    from app.services.leaderboards.index import BoardKeys
    from tests.services.leaderboards.boards import board, score

    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    monkeypatch.setenv("LAUREL_REDIS_URL", redis_url)
    monkeypatch.setenv("LAUREL_REDIS_PREFIX", prefix)

    async def given():
        async with db.connect(settings):
            for n in range(3):
                await score(await factories.member(), n, seq=n + 1)
            return await board(code="top-spenders")

    created = asyncio.run(given())

    main(["rebuild-leaderboard", "top-spenders"])

    out, err = capsys.readouterr()
    assert "Rebuilt top-spenders for all-time: 3 members" in out
    assert "3/3" in err

    async def indexed() -> int:
        redis = Redis.from_url(redis_url)
        try:
            keys = BoardKeys.of(prefix, created.id, "lifetime")
            count = await redis.zcard(keys.z)
            await redis.delete(*[k async for k in redis.scan_iter(match=prefix + "*")])
            return count
        finally:
            await redis.aclose()

    assert asyncio.run(indexed()) == 3


@pytest.mark.usefixtures("environment")
def test_rebuild_leaderboard_takes_the_period_as_people_write_it(
    monkeypatch, capsys, settings, redis_url
):
    import asyncio
    import uuid

    from redis.asyncio import Redis

    from app import db
    from app.services.leaderboards.index import BoardKeys
    from gamification.leaderboards import Period
    from tests.services.leaderboards.boards import board, score

    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    monkeypatch.setenv("LAUREL_REDIS_URL", redis_url)
    monkeypatch.setenv("LAUREL_REDIS_PREFIX", prefix)
    year, week, _ = factories.now().astimezone(factories.ZONE).isocalendar()
    name = f"{year}-W{week:02d}"

    async def given():
        async with db.connect(settings):
            for n in range(2):
                await score(await factories.member(), n + 1, seq=n + 1, period_key=f"week:{name}")
            return await board(code="weekly", period=Period.WEEK)

    created = asyncio.run(given())

    main(["rebuild-leaderboard", "weekly", "--period", name])
    assert f"Rebuilt weekly for {name}: 2 members" in capsys.readouterr().out
    main(["rebuild-leaderboard", "weekly", "--period", f"week:{name}"])  # a stored key
    assert f"Rebuilt weekly for week:{name}: 2 members" in capsys.readouterr().out
    for wrong, why in (("all-time", "period looks like"), ("month:2026-12", "not a period of")):
        with pytest.raises(SystemExit, match=why):
            main(["rebuild-leaderboard", "weekly", "--period", wrong])

    async def indexed() -> int:
        redis = Redis.from_url(redis_url)
        try:
            count = await redis.zcard(BoardKeys.of(prefix, created.id, f"week:{name}").z)
            await redis.delete(*[k async for k in redis.scan_iter(match=prefix + "*")])
            return count
        finally:
            await redis.aclose()

    assert asyncio.run(indexed()) == 2


@pytest.mark.usefixtures("environment")
def test_jobs_are_listed_and_run_by_hand_with_progress(capsys, settings):
    import asyncio

    from app import db

    async def load():
        async with db.connect(settings):
            await load_demo(now=factories.now())

    asyncio.run(load())
    main(["jobs", "list"])
    listed = capsys.readouterr().out
    for name in ("season_boundaries", "tier_evaluation", "ladder_switch", "birthday_gifts"):
        assert name in listed
    assert "never run" in listed

    main(["jobs", "run", "birthday_gifts"])  # a batch over the demo's members
    out, err = capsys.readouterr()
    assert out.startswith("birthday_gifts manual:") and "'granted'" in out
    assert "1 batches done" in err  # the progress line

    main(["jobs", "list"])
    assert "done, attempt 1" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no job"):
        main(["jobs", "run", "nope"])


@pytest.mark.usefixtures("environment")
def test_members_merge_merges_by_external_ids_once(capsys, settings):
    import asyncio

    from app import db
    from app.models import AuditEntry, Member

    async def members():
        async with db.connect(settings):
            found = await Member.filter(external_id__in=["demo-0001", "demo-0002"])
            entries = await AuditEntry.filter(action="member.merge")
            return {m.external_id: m for m in found}, entries

    async def load():
        async with db.connect(settings):
            await load_demo(now=factories.now())

    asyncio.run(load())
    before, _ = asyncio.run(members())
    total = before["demo-0001"].points_balance + before["demo-0002"].points_balance

    main(["members", "merge", "demo-0001", "demo-0002"])

    assert capsys.readouterr().out.startswith("Merged demo-0002 into demo-0001")
    after, audited = asyncio.run(members())
    assert after["demo-0001"].points_balance == total
    assert after["demo-0002"].merged_into_id == after["demo-0001"].id
    assert [e.actor_role for e in audited] == ["admin"]
    main(["members", "merge", "demo-0001", "demo-0002"])
    assert capsys.readouterr().out.startswith("Already merged")
    with pytest.raises(SystemExit, match="merged into member"):
        main(["members", "merge", "demo-0003", "demo-0002"])
    with pytest.raises(SystemExit, match="no member with external id 'nope'"):
        main(["members", "merge", "demo-0001", "nope"])
