"""Trusted documents: client operations sent by hash, and only those with the option on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from app.auth import Role
from app.cli import main
from app.config import Environment, Settings
from app.main import create_app
from app.models import Member
from tests import factories
from tests.api.http.test_hostile_input import spy_on_members
from tests.api.http.test_http import serve
from tests.operations import OPERATIONS_DIR, documents, payload

REFUSALS = {"PERSISTED_QUERY_NOT_FOUND", "DOCUMENT_NOT_TRUSTED"}
AD_HOC = "query Sneaky { members(first: 1) { edges { cursor } } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def by_hash(name: str, **variables: object) -> dict[str, object]:
    """What a client sends instead of the text: the hash of the file defining ``name``."""
    return {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(documents()[name])}},
        "operationName": name,
        "variables": variables,
    }


def codes(body: dict[str, object]) -> set[str]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return {e.get("extensions", {}).get("code") for e in errors}


@asynccontextmanager
async def laurel(settings: Settings, **update: object) -> AsyncIterator[httpx.AsyncClient]:
    lifespan, http = await serve(settings.model_copy(update=update))
    try:
        yield http
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def trusted(settings) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client on an app with LAUREL_TRUSTED_DOCUMENTS on."""
    async with laurel(settings, trusted_documents=True) as http:
        http.headers.update(factories.bearer(settings, Role.ADMIN))
        yield http


async def run(http: httpx.AsyncClient, body: dict[str, object]) -> dict[str, object]:
    response = await http.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    assert "errors" not in result, result["errors"]
    return result["data"]  # type: ignore[return-value]


async def test_every_client_operation_is_admitted_by_hash(settings):
    # Given the option on and no token: resolvers refuse, so nothing is written
    async with laurel(settings, trusted_documents=True) as http:
        refused = {}
        # When every operation of graphql/operations/ is sent by hash, without variables
        for name in documents():
            response = await http.post("/graphql", json=by_hash(name))
            if response.status_code != 200 or codes(response.json()) & REFUSALS:
                refused[name] = response.text

    # Then each got past the gate (to missing variables or UNAUTHENTICATED at worst)
    assert refused == {}


async def test_read_only_operations_run_by_hash(trusted):
    await factories.ladder()
    await factories.member(display_name="Ada")

    ladder = await run(trusted, by_hash("TierLadder"))
    members = await run(trusted, by_hash("Members", first=10))

    assert [tier["name"] for tier in ladder["tierLadder"]] == ["Member", "Silver", "Gold"]
    assert [edge["node"]["displayName"] for edge in members["members"]["edges"]] == ["Ada"]


async def test_a_mutation_runs_by_hash(trusted):
    await factories.ladder()

    data = await run(trusted, by_hash("EnrollMember", externalId="crm-hash", displayName="Hash"))

    assert data["enrollMember"]["__typename"] == "MemberEnrolled"
    assert await Member.exists(external_id="crm-hash")


async def test_the_full_text_of_a_registered_document_runs(trusted):
    await factories.ladder()

    as_text = await run(trusted, payload("TierLadder"))
    # Apollo's retry after PersistedQueryNotFound: the text along with its hash
    with_hash = await run(trusted, {**payload("TierLadder"), **by_hash("TierLadder")})

    assert as_text == with_hash
    assert len(as_text["tierLadder"]) == 3


@pytest.mark.parametrize(
    "query",
    [AD_HOC, documents()["Members"] + "\n"],
    ids=["ad-hoc", "registered-text-plus-a-newline"],
)
async def test_any_other_document_is_refused_before_any_resolver(trusted, monkeypatch, query):
    calls = spy_on_members(monkeypatch)

    response = await trusted.post(
        "/graphql", json={"query": query, "variables": {"first": 1}, "operationName": None}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert codes(response.json()) == {"DOCUMENT_NOT_TRUSTED"}
    assert response.json()["data"] is None
    assert calls == []


async def test_a_document_sent_by_hash_is_parsed_and_validated_once(trusted):
    from app.api.schema import validated_documents as cache

    await run(trusted, by_hash("TierLadder"))
    before = cache.cache_info()

    for _ in range(3):
        await run(trusted, by_hash("TierLadder"))

    after = cache.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)


async def test_a_refusal_is_counted_by_operation_name(trusted):
    await trusted.post("/graphql", json={"query": AD_HOC, "operationName": "Sneaky"})

    text = (await trusted.get("/metrics")).text

    assert 'laurel_graphql_operations_total{operation="Sneaky",outcome="refused"} 1.0' in text


async def test_in_trusted_mode_an_unknown_hash_is_refused_and_never_learned(settings, monkeypatch):
    calls = spy_on_members(monkeypatch)
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": sha256(AD_HOC)}}
    headers = factories.bearer(settings, Role.ADMIN)
    async with laurel(settings, trusted_documents=True) as http:
        # Given a client that sent the text with its hash (APQ's registration)
        await http.post("/graphql", json={"query": AD_HOC, "extensions": hashed}, headers=headers)
        calls.clear()

        # When it sends the hash alone
        response = await http.post("/graphql", json={"extensions": hashed}, headers=headers)

    # Then only registered documents answer hashes: requests never register documents
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(response.json()) == {"PERSISTED_QUERY_NOT_FOUND"}
    assert calls == []


async def test_without_the_option_a_text_sent_with_its_hash_is_learnt(settings):
    # Automatic persisted queries, as Apollo's stock link does them
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": sha256(AD_HOC)}}
    headers = factories.bearer(settings, Role.ADMIN)
    async with laurel(settings, trusted_documents=False) as http:
        await factories.member(display_name="Ada")
        # Given the hash alone, unknown: the client is told to send the text
        first = await http.post("/graphql", json={"extensions": hashed}, headers=headers)
        # When it sends the text with the hash
        with_text = await http.post(
            "/graphql", json={"query": AD_HOC, "extensions": hashed}, headers=headers
        )
        # Then the hash alone runs it from then on
        again = await http.post("/graphql", json={"extensions": hashed}, headers=headers)
    # A process that did not see it does not know it (learnt per process, not stored)
    async with laurel(settings, trusted_documents=False) as http:
        elsewhere = await http.post("/graphql", json={"extensions": hashed}, headers=headers)

    assert codes(first.json()) == {"PERSISTED_QUERY_NOT_FOUND"}
    assert with_text.status_code == 200
    assert again.status_code == 200, again.text
    assert again.json() == with_text.json()
    assert len(again.json()["data"]["members"]["edges"]) == 1
    assert codes(elsewhere.json()) == {"PERSISTED_QUERY_NOT_FOUND"}


def test_learnt_documents_are_bounded():
    from app.api.documents.trusted import LearntDocuments

    learnt = LearntDocuments(max_documents=2, max_characters=10)
    learnt.put("a", "1234")
    learnt.put("b", "1234")
    learnt.get("a")  # a is now the most recently used
    learnt.put("c", "1234")
    learnt.put("huge", "x" * 11)

    assert [learnt.get(k) for k in ("a", "b", "c", "huge")] == ["1234", None, "1234", None]


async def test_without_the_option_ad_hoc_queries_and_known_hashes_both_run(client):
    await factories.ladder()
    await factories.member()

    ad_hoc = await run(client, {"query": AD_HOC})
    hashed = await run(client, by_hash("TierLadder"))

    assert len(ad_hoc["members"]["edges"]) == 1
    assert len(hashed["tierLadder"]) == 3


def as_params(body: dict[str, object]) -> dict[str, str]:
    return {key: json.dumps(v) if isinstance(v, dict) else str(v) for key, v in body.items()}


@pytest.mark.parametrize("env", list(Environment))
async def test_queries_by_hash_may_use_get_but_mutations_never_do(settings, env):
    headers = factories.bearer(settings, Role.ADMIN) | {"accept": "*/*"}  # as curl sends
    async with laurel(settings, trusted_documents=True, env=env) as http:
        await factories.ladder()
        query = await http.get("/graphql", params=as_params(by_hash("TierLadder")), headers=headers)
        mutation = await http.get(
            "/graphql",
            params=as_params(by_hash("EnrollMember", externalId="crm-get", displayName="Get")),
            headers=headers,
        )
        enrolled = await Member.exists(external_id="crm-get")

    # A GET without `query` that accepts */* is not taken for a browser asking for GraphiQL
    assert query.status_code == 200, query.text
    assert len(query.json()["data"]["tierLadder"]) == 3
    assert 400 <= mutation.status_code < 500
    assert not enrolled


@pytest.mark.parametrize(
    "persisted",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"version": 1},
        {"version": 1, "sha256Hash": "not-a-hash"},
        "0" * 64,
    ],
    ids=["version", "no-hash", "not-hex", "not-an-object"],
)
async def test_a_malformed_persisted_query_is_a_bad_request(client, persisted):
    response = await client.post("/graphql", json={"extensions": {"persistedQuery": persisted}})

    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}


async def test_a_hash_that_is_not_the_texts_is_a_bad_request(client, monkeypatch):
    calls = spy_on_members(monkeypatch)
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha256(documents()["TierLadder"])}}

    response = await client.post("/graphql", json={"query": AD_HOC, "extensions": wrong})

    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_REQUEST"}
    assert calls == []


async def test_operations_are_read_from_the_directory_when_the_app_starts(settings, tmp_path):
    # Given a directory holding one operation no code names
    text = "query LadderNames { tierLadder { name } }\n"
    (tmp_path / "extra.graphql").write_text(text)
    (tmp_path / "fragments-only.graphql").write_text("fragment F on Tier { name }\n")
    async with laurel(settings, trusted_documents=True, operations_dir=tmp_path) as http:
        await factories.ladder()
        extra = await http.post(
            "/graphql",
            json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}},
        )
        repository = await http.post("/graphql", json=by_hash("TierLadder"))

    # Then that operation runs by hash, and the repository's are not trusted there
    assert [tier["name"] for tier in extra.json()["data"]["tierLadder"]] == [
        "Member",
        "Silver",
        "Gold",
    ]
    assert codes(repository.json()) == {"PERSISTED_QUERY_NOT_FOUND"}


def test_the_option_refuses_to_start_with_no_operations(tmp_path):
    settings = Settings(
        database_url="sqlite://:memory:",
        redis_url=None,
        jwt_secret="x" * 40,
        trusted_documents=True,
        operations_dir=tmp_path,
    )
    with pytest.raises(RuntimeError, match="no named operation"):
        create_app(settings)


def test_the_operations_default_to_the_repositorys():
    settings = Settings(database_url="sqlite://:memory:", redis_url=None, jwt_secret="x" * 40)
    assert settings.operations_dir == OPERATIONS_DIR
    assert not settings.trusted_documents


def test_the_manifest_maps_each_files_hash_to_its_operations(capsys):
    main(["documents", "--dir", str(OPERATIONS_DIR)])

    manifest = json.loads(capsys.readouterr().out)

    assert manifest == {
        sha256(text): [name for name, same in documents().items() if same == text]
        for text in set(documents().values())
    }
