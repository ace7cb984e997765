"""Client manifests as trusted documents: registered by admins, run by id, revocable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.auth import Role
from app.cli import main
from app.services.documents import manifests as documents
from app.services.shared.audit import Actor
from tests import factories
from tests.api.documents.test_trusted_documents import codes, laurel, run
from tests.operations import payload

# As Apollo Client prints a document: __typename in every selection set.
LADDER = "query AppLadder {\n  tierLadder {\n    __typename\n    code\n    name\n  }\n}"
MEMBERS = (
    "query AppMembers($first: Int!) {\n  members(first: $first) {\n    __typename\n"
    "    edges {\n      __typename\n      node {\n        __typename\n        displayName\n"
    "      }\n    }\n  }\n}"
)
ENROLL = (
    "mutation AppEnroll($externalId: String!, $displayName: String!) {\n"
    "  enrollMember(externalId: $externalId, displayName: $displayName) {\n"
    "    __typename\n  }\n}"
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apollo_manifest(*bodies: tuple[str, str, str]) -> dict[str, object]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(body), "name": name, "type": kind, "body": body}
            for name, kind, body in bodies
        ],
    }


APP = apollo_manifest(
    ("AppLadder", "query", LADDER),
    ("AppMembers", "query", MEMBERS),
    ("AppEnroll", "mutation", ENROLL),
)


def by_id(body: str, **variables: object) -> dict[str, object]:
    return {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(body)}},
        "variables": variables,
    }


@pytest.fixture
async def admin(settings) -> AsyncIterator[httpx.AsyncClient]:
    """An admin on an app in trusted mode that reads the registry's version every time."""
    async with laurel(settings, trusted_documents=True, document_refresh_seconds=0) as http:
        http.headers.update(factories.bearer(settings, Role.ADMIN))
        yield http


async def register(
    http: httpx.AsyncClient, manifest: object, *, client: str = "member-app", version: str = "1.0"
) -> dict[str, object]:
    # The admin console's own operation: a trusted document of graphql/operations/
    body = payload("RegisterTrustedDocuments", client=client, version=version, manifest=manifest)
    data = await run(http, body)
    return data["registerTrustedDocuments"]  # type: ignore[return-value]


async def test_a_registered_manifest_runs_its_exact_text_by_id(admin):
    await factories.ladder()

    registered = await register(admin, APP)
    ladder = await run(admin, by_id(LADDER))

    assert registered["__typename"] == "TrustedDocumentsRegistered"
    assert registered["replayed"] is False
    assert [d["operationName"] for d in registered["manifest"]["documents"]] == [
        "AppLadder",
        "AppMembers",
        "AppEnroll",
    ]
    # The registered text ran, __typename selections and all: what Apollo's cache needs
    assert ladder["tierLadder"][0] == {"__typename": "Tier", "code": "member", "name": "Member"}


async def test_a_registered_text_sent_verbatim_runs_in_trusted_mode(admin):
    await factories.ladder()
    await register(admin, APP)

    verbatim = await run(admin, {"query": LADDER})
    with_hash = await run(admin, {"query": LADDER, **by_id(LADDER)})

    assert verbatim == with_hash
    assert len(verbatim["tierLadder"]) == 3


async def test_codegens_persisted_documents_run_by_document_id(admin):
    await factories.ladder()
    manifest = {sha256(LADDER): LADDER, sha256(MEMBERS): MEMBERS}

    registered = await register(admin, manifest, client="console")
    bare = await run(admin, {"documentId": sha256(LADDER)})
    prefixed = await run(admin, {"documentId": f"sha256:{sha256(LADDER)}"})
    over_get = await admin.get("/graphql", params={"documentId": sha256(LADDER)})

    assert registered["manifest"]["format"] == "persisted-documents"
    assert bare == prefixed == over_get.json()["data"]
    assert [tier["name"] for tier in bare["tierLadder"]] == ["Member", "Silver", "Gold"]


async def test_a_mutation_runs_by_id(admin):
    await factories.ladder()
    await register(admin, APP)

    data = await run(admin, by_id(ENROLL, externalId="crm-app", displayName="App"))

    assert data == {"enrollMember": {"__typename": "MemberEnrolled"}}


async def test_a_manifest_with_a_bad_document_is_refused_whole_with_every_problem(admin):
    bad = apollo_manifest(
        ("AppLadder", "query", LADDER),
        ("Broken", "query", "query Broken { tierLadder { nope } }"),
        ("Unclosed", "query", "query Unclosed { tierLadder { name "),
        ("Misnamed", "query", "query Other { tierLadder { name } }"),
    )

    refused = await register(admin, bad)
    listed = await run(admin, payload("TrustedManifests"))
    ladder = await admin.post("/graphql", json=by_id(LADDER))

    assert refused["__typename"] == "TrustedDocumentsRefused"
    problems = {p["operationName"]: p for p in refused["problems"]}
    assert set(problems) == {"Broken", "Unclosed", "Misnamed"}
    assert problems["Broken"]["documentId"] == sha256("query Broken { tierLadder { nope } }")
    assert "nope" in problems["Broken"]["message"]
    assert "parse" in problems["Unclosed"]["message"]
    assert "Other" in problems["Misnamed"]["message"]
    # Nothing of it was registered, the good document neither
    assert listed["trustedManifests"] == []
    assert codes(ladder.json()) == {"PERSISTED_QUERY_NOT_FOUND"}


async def test_a_document_beyond_the_servers_limits_is_refused(admin):
    aliases = " ".join(f"a{n}: tierLadder {{ name }}" for n in range(16))
    aliased = f"query Aliased {{ {aliases} }}"
    huge = "query Huge { tierLadder { " + "name " * 2100 + "} }"

    refused = await register(admin, {"aliased": aliased, "huge": huge})

    assert refused["__typename"] == "TrustedDocumentsRefused"
    problems = {p["documentId"]: p for p in refused["problems"]}
    assert problems["aliased"]["operationName"] == "Aliased"
    assert "aliases" in problems["aliased"]["message"]
    assert "tokens" in problems["huge"]["message"]


@pytest.mark.parametrize(
    "manifest",
    [[], {}, {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}],
    ids=["a-list", "empty", "unknown-version"],
)
async def test_something_that_is_not_a_manifest_is_refused(admin, manifest):
    refused = await register(admin, manifest)

    assert refused["__typename"] == "TrustedDocumentsRefused"
    assert refused["problems"][0]["documentId"] is None


async def test_a_version_is_registered_once(admin):
    first = await register(admin, APP)
    again = await register(admin, APP)
    other = await register(admin, apollo_manifest(("AppLadder", "query", LADDER)))
    bad_label = await register(admin, APP, version="1.0 final")

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert other["__typename"] == "ValidationFailed"
    assert other["problems"][0]["field"] == "version"
    assert [p["field"] for p in bad_label["problems"]] == ["version"]


async def test_an_id_names_one_text_across_clients(admin):
    await register(admin, {"ladder": LADDER}, client="ios")

    clash = await register(admin, {"ladder": MEMBERS}, client="android")
    same = await register(admin, {"ladder": LADDER}, client="web")

    assert clash["__typename"] == "TrustedDocumentsRefused"
    assert clash["problems"][0]["documentId"] == "ladder"
    assert "ios 1.0" in clash["problems"][0]["message"]
    assert same["__typename"] == "TrustedDocumentsRegistered"


async def test_revoked_documents_stop_running(admin):
    await factories.ladder()
    await register(admin, APP)
    await run(admin, by_id(LADDER))

    revoked = await run(
        admin, payload("RevokeTrustedDocuments", client="member-app", version="1.0")
    )
    by_hash = await admin.post("/graphql", json=by_id(LADDER))
    verbatim = await admin.post("/graphql", json={"query": LADDER})
    active = await run(admin, payload("TrustedManifests"))
    every = await run(admin, payload("TrustedManifests", includeRevoked=True))
    again = await register(admin, APP)

    assert revoked["revokeTrustedDocuments"]["manifest"]["revokedBy"] == "test-admin"
    assert codes(by_hash.json()) == {"PERSISTED_QUERY_NOT_FOUND"}
    assert codes(verbatim.json()) == {"DOCUMENT_NOT_TRUSTED"}
    assert active["trustedManifests"] == []
    assert [m["version"] for m in every["trustedManifests"]] == ["1.0"]
    assert again["__typename"] == "ValidationFailed"


async def test_a_revocation_by_another_process_is_obeyed(admin):
    # Given a document this app has run (and cached)
    await factories.ladder()
    await register(admin, APP)
    await run(admin, by_id(LADDER))

    # When another process revokes it (the CLI, another server): not through this app
    await documents.revoke_manifest(
        client_name="member-app",
        client_version="1.0",
        actor=Actor(subject="elsewhere", role="admin"),
        now=factories.now(),
    )
    response = await admin.post("/graphql", json=by_id(LADDER))

    # Then this app refuses it at the next request (the registry's version changed)
    assert codes(response.json()) == {"PERSISTED_QUERY_NOT_FOUND"}


async def test_a_cached_document_is_not_read_again(admin, monkeypatch):
    await factories.ladder()
    await register(admin, APP)
    await run(admin, by_id(LADDER))
    reads = []
    real = documents.find_active

    async def counting(**key: str | None) -> documents.StoredDocument | None:
        reads.append(key)
        return await real(**key)

    monkeypatch.setattr(documents, "find_active", counting)

    for _ in range(3):
        await run(admin, by_id(LADDER))

    assert reads == []


async def test_only_admins_register_list_and_revoke(settings):
    registration = payload("RegisterTrustedDocuments", client="app", version="1", manifest=APP)
    async with laurel(settings) as http:
        marketer = factories.bearer(settings, Role.MARKETER)
        forbidden = await http.post("/graphql", json=registration, headers=marketer)
        listed = await http.post("/graphql", json=payload("TrustedManifests"), headers=marketer)
        anonymous = await http.post(
            "/graphql", json=payload("RevokeTrustedDocuments", client="a", version="1")
        )

    assert forbidden.json()["data"]["registerTrustedDocuments"]["requiredRoles"] == ["admin"]
    assert codes(listed.json()) == {"FORBIDDEN"}
    assert codes(anonymous.json()) == {"UNAUTHENTICATED"}


async def test_revoking_an_unknown_version_is_not_found(admin):
    data = await run(admin, payload("RevokeTrustedDocuments", client="nobody", version="1"))

    assert data["revokeTrustedDocuments"]["__typename"] == "NotFound"


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url):
    for name in ("ENV", "JWT_SECRET", "REDIS_URL"):
        monkeypatch.delenv(f"LAUREL_{name}", raising=False)
    monkeypatch.setenv("LAUREL_DATABASE_URL", database_url)
    monkeypatch.setenv("LAUREL_DEV_SECRET_FILE", str(tmp_path / "dev-jwt-secret"))


@pytest.mark.usefixtures("environment")
def test_the_cli_registers_lists_and_revokes(tmp_path, capsys):
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps(APP))

    main(["documents", "register", "--client", "member-app", "--version", "2.0", str(path)])
    main(["documents", "register", "--client", "member-app", "--version", "2.0", str(path)])
    main(["documents", "list", "-v"])
    main(["documents", "revoke", "--client", "member-app", "--version", "2.0"])
    main(["documents", "list"])
    main(["documents", "list", "--all"])

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Registered: member-app 2.0, 3 documents (apollo-persisted-query-manifest)."
    assert out[1].startswith("Already registered: member-app 2.0")
    assert out[2].split()[:3] == ["member-app", "2.0", "3"]
    assert out[3].split() == [sha256(LADDER), "query", "AppLadder"]
    assert out[6] == "Revoked: member-app 2.0 (3 documents no longer run)."
    assert out[7].split()[-3] == "revoked"


@pytest.mark.usefixtures("environment")
def test_the_cli_lists_the_problems_of_a_refused_manifest(tmp_path, capsys):
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({"abc": "query Broken { tierLadder { nope } }", "def": LADDER}))

    with pytest.raises(SystemExit) as exit:
        main(["documents", "register", "--client", "console", "--version", "1", str(path)])

    assert "nothing was registered" in str(exit.value)
    assert "abc Broken: Cannot query field 'nope' on type 'Tier'." in str(exit.value)
