"""`laurel members export` and `laurel members erase`: a member's GDPR rights from a shell."""

from __future__ import annotations

import asyncio
import json

import pytest

from app import db
from app.cli import main
from app.models import AuditEntry, Member
from tests import factories


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url):
    for name in ("ENV", "JWT_SECRET", "REDIS_URL"):
        monkeypatch.delenv(f"LAUREL_{name}", raising=False)
    monkeypatch.setenv("LAUREL_DATABASE_URL", database_url)
    monkeypatch.setenv("LAUREL_DEV_SECRET_FILE", str(tmp_path / "dev-jwt-secret"))


def enrolled(settings, **fields) -> int:
    async def enroll() -> int:
        async with db.connect(settings):
            return (await factories.member(**fields)).id

    return asyncio.run(enroll())


def stored(settings, member_id: int) -> tuple[Member, list[str]]:
    async def read() -> tuple[Member, list[str]]:
        async with db.connect(settings):
            actions = await AuditEntry.filter(target_id=str(member_id)).values_list(
                "action", flat=True
            )
            return await Member.get(id=member_id), list(actions)

    return asyncio.run(read())


@pytest.mark.usefixtures("environment")
def test_export_writes_the_members_document_to_a_file(settings, tmp_path, capsys):
    member_id = enrolled(settings, external_id="crm-cli-1", display_name="Cli Member")
    out = tmp_path / "export.json"

    main(["members", "export", "crm-cli-1", "-o", str(out)])

    document = json.loads(out.read_text())
    assert (document["member"]["id"], document["member"]["displayName"]) == (
        member_id,
        "Cli Member",
    )
    assert stored(settings, member_id)[1] == ["member.export"]


@pytest.mark.usefixtures("environment")
def test_erase_needs_the_external_id_twice(settings, capsys):
    member_id = enrolled(settings, external_id="crm-cli-2", display_name="Cli Member")

    with pytest.raises(SystemExit, match="--confirm must repeat"):
        main(["members", "erase", "crm-cli-2", "--confirm", "crm-cli-3"])
    main(["members", "erase", "crm-cli-2", "--confirm", "crm-cli-2"])

    member, actions = stored(settings, member_id)
    assert member.display_name == "Erased member"
    assert member.external_id in capsys.readouterr().out
    assert actions == ["member.erase"]


@pytest.mark.usefixtures("environment")
def test_an_unknown_external_id_is_said_so(settings):
    enrolled(settings)

    with pytest.raises(SystemExit, match="no member has the external id"):
        main(["members", "export", "nobody"])
