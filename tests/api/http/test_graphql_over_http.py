"""GraphQL over HTTP as the current spec has it, beside application/json for older clients.

These are about the HTTP edge, which is the same on both databases: they run on SQLite.
"""

from __future__ import annotations

import httpx
import pytest

from app.api.http.graphql_http import response_media_type
from tests import factories
from tests.operations import payload

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

SPEC = "application/graphql-response+json"
SPEC_CONTENT_TYPE = "application/graphql-response+json; charset=utf-8"
APOLLO_4 = "application/graphql-response+json,application/json;q=0.9"

PARSE_ERROR = {"query": "{ tierLadder { name "}
VALIDATION_ERROR = {"query": "{ tierLadder { nope } }"}
VARIABLE_ERROR = {
    "query": "query($n: Int!) { members(first: $n) { edges { cursor } } }",
    "variables": {"n": "ten"},
}
REQUEST_ERRORS = [PARSE_ERROR, VALIDATION_ERROR, VARIABLE_ERROR]
REQUEST_ERROR_IDS = ["parse", "validation", "variable-coercion"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/html", "application/json"),  # names neither: answered as before
        (SPEC, SPEC),
        (APOLLO_4, SPEC),
        (f"{SPEC}, */*", SPEC),
        (f"application/json, {SPEC};q=0.5", "application/json"),
        (f"{SPEC};q=0", "application/json"),
        (f"{SPEC};q=0.8, application/*;q=0.9", "application/json"),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON ; q=1", SPEC),
    ],
)
def test_the_response_media_type_follows_accept(accept, expected, backend):
    assert response_media_type(accept) == expected


async def test_an_executed_query_is_200_in_the_media_type_asked_for(client):
    await factories.ladder()

    spec = await client.post("/graphql", json=payload("TierLadder"), headers={"accept": APOLLO_4})
    legacy = await client.post("/graphql", json=payload("TierLadder"), headers={"accept": "*/*"})

    assert spec.status_code == legacy.status_code == 200
    assert spec.headers["content-type"] == SPEC_CONTENT_TYPE
    assert legacy.headers["content-type"] == "application/json"
    assert spec.json() == legacy.json()
    assert [tier["code"] for tier in spec.json()["data"]["tierLadder"]][:2] == ["member", "silver"]


@pytest.mark.parametrize("body", REQUEST_ERRORS, ids=REQUEST_ERROR_IDS)
async def test_a_request_error_is_400_without_data_when_the_spec_is_asked_for(client, body):
    response = await client.post("/graphql", json=body, headers={"accept": SPEC})

    assert response.status_code == 400
    assert response.headers["content-type"] == SPEC_CONTENT_TYPE
    assert "data" not in response.json()
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("body", REQUEST_ERRORS, ids=REQUEST_ERROR_IDS)
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
async def test_a_request_error_stays_200_with_null_data_for_json_clients(client, body, accept):
    headers = {"accept": accept} if accept is not None else {}
    client.headers.pop("accept", None)

    response = await client.post("/graphql", json=body, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None
    assert response.json()["errors"]


async def test_a_request_error_over_get_is_400_too(client):
    response = await client.get(
        "/graphql", params={"query": "{ tierLadder { nope } }"}, headers={"accept": SPEC}
    )
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_a_field_error_once_executing_is_200_with_data(app):
    # An anonymous caller reaching a field that needs a role: execution ran, data is there.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as anonymous:
        response = await anonymous.post(
            "/graphql", json=payload("Members", first=1), headers={"accept": SPEC}
        )

    assert response.status_code == 200
    body = response.json()
    assert "data" in body and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("accept", [None, SPEC])
async def test_an_unknown_operation_name_is_a_400_graphql_error(client, accept):
    headers = {"accept": accept} if accept else {}
    body = {"query": "query Ladder { tierLadder { name } }", "operationName": "Lader"}

    response = await client.post("/graphql", json=body, headers=headers)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert '"Lader"' in error["message"]
    assert ("data" in response.json()) is (accept is None)


async def test_a_mutation_over_get_is_405_under_the_spec_and_400_for_json_clients(client):
    params = {
        "query": 'mutation { enrollMember(externalId: "g", displayName: "G") { __typename } }'
    }

    spec = await client.get("/graphql", params=params, headers={"accept": SPEC})
    legacy = await client.get("/graphql", params=params, headers={"accept": "application/json"})

    assert spec.status_code == 405
    assert spec.headers["allow"] == "POST"
    assert "data" not in spec.json()
    assert legacy.status_code == 400
    assert legacy.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"content": b"[" * 10_000}, 400),
        ({"json": {"query": "{ tierLadder { name } }", "variables": {"x": "a" * 110_000}}}, 413),
        ({"json": {}, "headers": {"authorization": "Bearer not.a.token"}}, 401),
    ],
    ids=["malformed-body", "too-large", "bad-token"],
)
async def test_refusals_before_graphql_are_graphql_responses_in_either_media_type(
    client, request_kwargs, status
):
    headers = {"content-type": "application/json", **request_kwargs.pop("headers", {})}

    spec = await client.post("/graphql", **request_kwargs, headers={**headers, "accept": SPEC})
    legacy = await client.post("/graphql", **request_kwargs, headers=headers)

    assert spec.status_code == legacy.status_code == status
    assert spec.headers["content-type"] == SPEC_CONTENT_TYPE
    assert legacy.headers["content-type"] == "application/json"
    assert set(spec.json()) == {"errors"}
    assert set(legacy.json()) == {"data", "errors"} and legacy.json()["data"] is None
    assert spec.json()["errors"] == legacy.json()["errors"]
    assert spec.json()["errors"][0]["extensions"]["code"]


async def test_a_deeply_nested_body_is_a_400_with_a_json_error(client):
    response = await client.post(
        "/graphql", content=b"[" * 10_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
