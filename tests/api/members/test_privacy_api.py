"""A member's GDPR rights over HTTP: an admin or the brand's back end exports everything
held about a member (a job, then an authenticated download); an admin erases it, after
which its token, its events and its place on the boards are gone."""

from __future__ import annotations

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, MemberExportPart
from app.services.jobs.schedule import JOBS, run_job
from app.services.members import exports
from app.services.members.exports import build_exports
from tests import factories
from tests.factories import PERSONAL, operation


def member_id(member) -> str:
    return encode_id("Member", member.id)


async def start_export(client, member) -> dict:
    return (await operation(client, "ExportMember", id=member_id(member)))["exportMember"]


async def job(client, export_id: str) -> dict:
    return (await operation(client, "MemberExportJob", id=export_id))["memberExportJob"]


async def erase(client, member, confirm: str) -> dict:
    body = await operation(client, "EraseMember", id=member_id(member), confirm=confirm)
    return body["eraseMember"]


# Export


async def test_a_large_member_is_exported_by_the_job_and_downloaded_by_staff_who_may(
    client_as, clock, monkeypatch
):
    monkeypatch.setattr(exports, "PAGE", 10)  # many pages
    monkeypatch.setattr(exports, "PART_BYTES", 2_000)  # many stored parts
    ada = await factories.member_with_everything()
    for n in range(40):
        await factories.event(ada, "check_in", key=f"visit-{n}", attributes={"visit": n})
    admin = await client_as(Role.ADMIN)

    started = await start_export(admin, ada)

    assert started["__typename"] == "MemberExportJob"
    assert (started["status"], started["downloadUrl"]) == ("QUEUED", None)
    assert started["memberId"] == member_id(ada)
    url = "/exports/members/" + started["id"]
    assert (await admin.get(url)).status_code == 409  # not built yet

    result = await build_exports(clock=clock)

    assert result == {"built": 1, "failed": 0, "expired": 0}
    done = await job(admin, started["id"])
    assert done["status"] == "DONE"
    assert done["downloadUrl"] == url
    assert done["rows"] > 40 and done["sizeBytes"] > 2 * 2_000
    response = await admin.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert len(response.content) == done["sizeBytes"]
    assert document["member"]["externalId"] == PERSONAL["external_id"]
    visits = [e["attributes"].get("visit") for e in document["events"] if e["type"] == "check_in"]
    assert visits[-40:] == list(range(40))
    service = await client_as(Role.SERVICE)
    assert (await service.get(url)).status_code == 200
    # Who asked and who took a copy is in the audit log.
    actions = await AuditEntry.filter(target_id=str(ada.id)).values_list("action", flat=True)
    assert actions.count("member.export") == 1
    assert actions.count("member.export_download") == 2


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), (Role.MARKETER, 403), (Role.MEMBER, 403)]
)
async def test_only_admins_and_services_may_download_an_export(client_as, clock, role, status):
    member = await factories.member()
    started = await start_export(await client_as(Role.ADMIN), member)
    await build_exports(clock=clock)
    caller = await client_as(role, member if role is Role.MEMBER else None)

    response = await caller.get("/exports/members/" + started["id"])

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")


async def test_an_unknown_or_expired_export_is_not_found(client_as, clock):
    member = await factories.member()
    client = await client_as(Role.ADMIN)
    started = await start_export(client, member)
    await build_exports(clock=clock)
    assert (await client.get("/exports/members/nonsense")).status_code == 404

    clock.set(factories.now() + exports.KEEP)
    client = await client_as(Role.ADMIN)  # a token of that day
    assert (await client.get("/exports/members/" + started["id"])).status_code == 404
    await build_exports(clock=clock)
    assert await job(client, started["id"]) is None


async def test_marketers_may_not_export_a_member(client_as):
    member = await factories.member()

    result = await start_export(await client_as(Role.MARKETER), member)

    assert result["__typename"] == "Forbidden"


async def test_the_scheduled_job_builds_queued_exports(client, settings, clock):
    member = await factories.member()
    started = await start_export(client, member)

    result = await run_job(JOBS["member_exports"], settings=settings, clock=clock)

    assert result == {"built": 1, "failed": 0, "expired": 0}
    assert (await job(client, started["id"]))["status"] == "DONE"


# Erasure


async def test_an_admin_erases_a_member_and_everything_personal_goes(client_as, clock):
    ada = await factories.member_with_everything()
    member_app = await client_as(Role.MEMBER, ada)
    assert (await member_app.post("/graphql", json={"query": "{ me { displayName } }"})).json()[
        "data"
    ]["me"]["displayName"] == PERSONAL["display_name"]
    admin = await client_as(Role.ADMIN)
    export = await start_export(admin, ada)
    await build_exports(clock=clock)

    result = await erase(admin, ada, confirm=PERSONAL["external_id"])

    assert result["__typename"] == "MemberErasure"
    assert result["changed"] is True
    shown = result["member"]
    assert shown["externalId"].startswith("erased-")
    assert (shown["displayName"], shown["birthday"], shown["timeZone"], shown["locale"]) == (
        "Erased member",
        None,
        None,
        None,
    )
    assert shown["active"] is False and shown["erasedAt"] is not None
    # The export held the personal data: it is gone too.
    assert (await admin.get("/exports/members/" + export["id"])).status_code == 404
    assert not await MemberExportPart.exists()
    # The member's token is refused from now on.
    response = await member_app.post("/graphql", json={"query": "{ me { displayName } }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED",
        "reason": "REVOKED",
    }
    # Its events are refused.
    recorded = await operation(
        await client_as(Role.SERVICE),
        "RecordEvent",
        input={
            "memberId": member_id(ada),
            "type": "check_in",
            "occurredAt": factories.now().isoformat(),
            "idempotencyKey": "after-erasure",
        },
    )
    assert recorded["recordEvent"]["__typename"] == "MemberInactive"
    # It is on no board.
    board = (await operation(admin, "Leaderboard", code="points"))["leaderboard"]
    names = [e["node"]["member"]["displayName"] for e in board["entries"]["edges"]]
    assert names == []
    # It cannot be exported again: nothing is left to export.
    again = await start_export(admin, ada)
    assert again["__typename"] == "ValidationFailed"


async def test_a_wrong_confirmation_is_a_validation_failure_and_erases_nothing(client):
    member = await factories.member(display_name="Grace")

    result = await erase(client, member, confirm="Grace")

    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == ["confirm"]
    shown = (await operation(client, "Member", id=member_id(member)))["member"]
    assert shown["displayName"] == "Grace"


async def test_erasing_again_changes_nothing(client):
    member = await factories.member()
    await erase(client, member, confirm=member.external_id)

    again = await erase(client, member, confirm=member.external_id)

    assert (again["__typename"], again["changed"]) == ("MemberErasure", False)


@pytest.mark.parametrize("role", [Role.SERVICE, Role.MARKETER])
async def test_only_admins_may_erase(client_as, role):
    member = await factories.member()

    result = await erase(await client_as(role), member, confirm=member.external_id)

    assert result["__typename"] == "Forbidden"


async def test_erasing_a_missing_member_is_not_found(client):
    result = await operation(client, "EraseMember", id=encode_id("Member", 424242), confirm="crm-x")
    assert result["eraseMember"]["__typename"] == "NotFound"


async def test_an_erased_members_socket_is_closed_at_connection_init(app, client, settings):
    from tests.factories import bearer
    from tests.live import live_socket, serving

    member = await factories.member()
    await erase(client, member, confirm=member.external_id)
    token = bearer(settings, Role.MEMBER, member_id=member.id)["Authorization"]

    async with serving(app) as url, live_socket(url) as ws:
        await ws.send({"type": "connection_init", "payload": {"authorization": token}})
        assert await ws.closed_with() == 4403
