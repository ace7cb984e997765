"""Abusive requests get a 4xx or a GraphQL error, never a 5xx, and run no resolver."""

from __future__ import annotations

import pytest

from app.config import Environment
from app.models import Member
from tests import factories
from tests.api.test_http import serve


async def post(client, body: bytes, content_type: str = "application/json"):
    return await client.post("/graphql", content=body, headers={"content-type": content_type})


def spy_on_members(monkeypatch) -> list[int]:
    """Record every call of the members resolver's service."""
    calls: list[int] = []
    import app.api.members.queries as queries

    original = queries.members_page

    async def spying(**kwargs):
        calls.append(1)
        return await original(**kwargs)

    monkeypatch.setattr(queries, "members_page", spying)
    return calls


DEEP = "{ members(first: 1) { edges { node { " + "tier { name " * 12 + "}" * 12 + " } } } }"
ALIASES = (
    "{ " + " ".join(f"m{i}: members(first: 1) {{ edges {{ cursor }} }}" for i in range(16)) + " }"
)
TOKENS = "{ members(first: 1) { edges { " + "cursor " * 2100 + "} } }"
FRAGMENTS = (
    "query { ...A } fragment A on Query { members(first: 1) { edges { ...B } } } "
    "fragment B on MemberEdge { node { ...A } }"
)


@pytest.mark.parametrize(
    "query", [DEEP, ALIASES, TOKENS, FRAGMENTS], ids=["deep", "alias-bomb", "tokens", "cycle"]
)
async def test_abusive_documents_are_refused_before_any_resolver(client, monkeypatch, query):
    calls = spy_on_members(monkeypatch)

    response = await client.post("/graphql", json={"query": query})

    assert response.status_code < 500
    assert response.json()["errors"]
    assert calls == []


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe garbage",
        b'{"query": "{ members(first: 1',
        b"[]",
        b'{"query": 42}',
        b'"{ tierLadder { name } }"',
        b"null",
    ],
    ids=["random-bytes", "truncated-json", "batch-array", "wrong-type", "bare-string", "null"],
)
async def test_malformed_bodies_are_4xx(client, monkeypatch, body):
    calls = spy_on_members(monkeypatch)

    response = await post(client, body)

    assert 400 <= response.status_code < 500
    assert calls == []


async def test_an_oversized_body_is_413(client):
    big = b'{"query": "{ tierLadder { name } }", "variables": {"x": "' + b"a" * 110_000 + b'"}}'

    response = await post(client, big)

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_get_never_runs_a_mutation(client):
    await factories.ladder()
    response = await client.get(
        "/graphql",
        params={
            "query": 'mutation { enrollMember(externalId: "g", displayName: "G") { __typename } }'
        },
    )
    assert 400 <= response.status_code < 500
    assert await Member.all().count() == 0


async def test_errors_do_not_suggest_field_names(client):
    body = (await client.post("/graphql", json={"query": "{ member { displayNam } }"})).json()
    assert all("Did you mean" not in e["message"] for e in body["errors"])


async def test_production_refuses_introspection(settings):
    lifespan, http = await serve(settings.model_copy(update={"env": Environment.PRODUCTION}))
    try:
        response = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
    assert "introspection" in response.json()["errors"][0]["message"].lower()


async def test_nul_characters_are_refused_in_literals_and_variables(client):
    literal = await client.post(
        "/graphql", json={"query": '{ memberByExternalId(externalId: "a\\u0000b") { id } }'}
    )
    variable = await client.post(
        "/graphql",
        json={
            "query": "query($x: String!) { memberByExternalId(externalId: $x) { id } }",
            "variables": {"x": "a\x00b"},
        },
    )
    assert literal.status_code == 200
    assert "NUL" in literal.json()["errors"][0]["message"]
    assert variable.status_code == 400
