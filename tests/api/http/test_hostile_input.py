"""Abusive requests get a 4xx or a GraphQL error, never a 5xx, and run no resolver."""

from __future__ import annotations

import pytest

from app.config import Environment
from app.models import Member
from tests import factories
from tests.api.http.test_http import serve


async def post(client, body: bytes, content_type: str = "application/json"):
    return await client.post("/graphql", content=body, headers={"content-type": content_type})


def spy_on_members(monkeypatch) -> list[int]:
    """Record every call of the members resolver's service."""
    calls: list[int] = []
    import app.api.members.queries as queries

    original = queries.members_after

    async def spying(**kwargs):
        calls.append(1)
        return await original(**kwargs)

    monkeypatch.setattr(queries, "members_after", spying)
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


LADDER = b'"query": "{ tierLadder { name } }"'


def assert_json_graphql_error(response) -> None:
    assert response.headers["content-type"] == "application/json", response.text
    errors = response.json()["errors"]
    assert errors and errors[0]["message"] and errors[0]["extensions"]["code"], errors


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe garbage",
        b'{"query": "{ members(first: 1',
        b"[]",
        b'{"query": 42}',
        b'"{ tierLadder { name } }"',
        b"null",
        b"[" * 10_000,
        b"{" + LADDER + b', "variables": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}",
        b"{" + LADDER + b', "variables": {"n": 1' + b"0" * 5_000 + b"}}",
        b"{" + LADDER + b', "variables": {"n": NaN}}',
        b"{" + LADDER + b', "variables": [1, 2]}',
        b"{" + LADDER + b', "operationName": ["Ladder"]}',
        b"[{" + LADDER + b"}]",
        ('{"query": "{ tierLadder { name } }"}').encode("utf-16"),
        b"",
    ],
    ids=[
        "random-bytes",
        "truncated-json",
        "batch-array",
        "wrong-type",
        "bare-string",
        "null",
        "deep-array",
        "deep-variables",
        "huge-number",
        "nan",
        "variables-not-an-object",
        "operation-name-not-a-string",
        "batch-of-one",
        "utf-16",
        "empty",
    ],
)
async def test_malformed_bodies_are_4xx(client, monkeypatch, body):
    calls = spy_on_members(monkeypatch)

    response = await post(client, body)

    assert 400 <= response.status_code < 500
    assert calls == []
    assert response.status_code == 400
    assert_json_graphql_error(response)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b0undary",
        "",
    ],
)
async def test_bodies_that_are_not_json_are_a_json_400(client, content_type):
    multipart = (
        b'--b0undary\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{'
        + LADDER
        + b"}\r\n--b0undary--\r\n"
    )
    response = await post(client, multipart, content_type)

    assert response.status_code == 400
    assert_json_graphql_error(response)


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ tierLadder { name } }", "variables": "[[["},
        {"query": "{ tierLadder { name } }", "variables": "1"},
        {"query": "{ tierLadder { name } }", "variables": "[" * 3_000},
        {"query": "{ tierLadder { name } }", "extensions": '{"persistedQuery": 1}'},
        {"variables": "{}"},
        {"query": "{ tierLadder { name } }", "operationName": "Nope"},
    ],
    ids=["truncated", "number", "deep", "bad-extension", "no-query", "unknown-operation"],
)
async def test_odd_query_strings_are_a_json_400(client, params):
    response = await client.get("/graphql", params=params, headers={"accept": "application/json"})

    assert response.status_code == 400
    assert_json_graphql_error(response)


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
