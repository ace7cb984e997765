"""The `laurel token` command: development tokens the server accepts, never in production."""

from __future__ import annotations

import pytest

from app.auth import Role, decode_token
from app.cli import main
from app.config import Settings
from app.services.demo import load_demo
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
    principal = decode_token(token, settings=Settings())  # another process, same secret
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

    principal = decode_token(capsys.readouterr().out.strip(), settings=Settings())
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
