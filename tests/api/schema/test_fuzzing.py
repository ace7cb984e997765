"""Schemathesis fuzzes every root query and mutation: no 5xx, no unexpected resolver error.

Schemathesis (through hypothesis-graphql) builds documents from graphql/schema.graphql, one
root field per test; each is posted in-process to the real app, signed in as an admin so the
resolvers run, on a database with a few members and tasks. The examples are few and
derandomized: the same documents run on every machine, well inside a minute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.graphql import nodes

from app.auth import Role
from tests import factories

CONFIG = SchemathesisConfig()
SCHEMA = schemathesis.graphql.from_path(
    Path(__file__).parents[3] / "graphql" / "schema.graphql", config=CONFIG
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = 15

# Our scalars Schemathesis has no strategy for (Date and DateTime it knows).
_decimals = st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False)
schemathesis.graphql.scalar("Amount", _decimals.map(str).map(nodes.String))
schemathesis.graphql.scalar("Decimal", _decimals.map(str).map(nodes.String))
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.integers(-1000, 1000).map(nodes.Int),
        st.booleans().map(nodes.Boolean),
        st.text(max_size=20).map(nodes.String),
        st.just(nodes.Null),
    ),
)


def unexpected_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors a resolver raised that are not our client errors.

    ClientError subclasses carry extensions.code; parse and validation errors from
    graphql-core have no path. An error with a path and no code escaped a resolver (an
    exception the production schema masks, or a null in a non-null field).
    """
    return [
        error
        for error in body.get("errors") or []
        if "path" in error and "code" not in (error.get("extensions") or {})
    ]


@pytest.fixture
async def fuzz_client(app, settings):
    await factories.member()
    await factories.member()
    await factories.task()
    await factories.task(code="spend", event_type="purchase")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://laurel.test",
        headers=factories.bearer(settings, Role.ADMIN),
    ) as http:
        yield http


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The database and the client are shared by the examples of a test on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_operations_never_fail_unexpectedly(fuzz_client, operation, data):
    case = data.draw(operation.as_strategy(), label="case")

    response = await fuzz_client.post("/graphql", json={"query": case.body})

    assert response.status_code < 500, (case.body, response.text)
    body = response.json()
    assert unexpected_errors(body) == [], (case.body, body)


# --- The HTTP layer -------------------------------------------------------------------
# Whatever a client puts on the wire (method, query string, content type and charset,
# bytes that are not UTF-8, JSON of the wrong shape, too deep or with huge numbers,
# batches, multipart), /graphql answers a 2xx or a 4xx, and every 4xx is a GraphQL
# response in JSON. The HTTP edge is the same on both databases: SQLite only.

HTTP_EXAMPLES = 600
QUERIES = [
    "{ tierLadder { name } }",
    "query Ladder { tierLadder { name rank } }",
    "query($n: Int!) { members(first: $n) { edges { cursor } } }",
    'mutation { enrollMember(externalId: "fz", displayName: "Fz") { __typename } }',
    "subscription { memberUpdates { id } }",
    "{ tierLadder {",
    "",
]
# Sizes around the limits (64 levels, Python's ~1,000 frames, its 4,300 digits): drawn
# from a list, since hypothesis favours small integers and would rarely reach them.
DEPTHS = st.sampled_from([1, 63, 64, 65, 900, 1_000, 3_000, 10_000])
DIGITS = st.sampled_from([10, 400, 4_299, 4_300, 4_301, 6_000, 20_000])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
request_objects = st.fixed_dictionaries(
    {},
    optional={
        "query": st.one_of(st.sampled_from(QUERIES), json_values),
        "variables": st.one_of(st.fixed_dictionaries({"n": json_values}), json_values),
        "operationName": st.one_of(st.sampled_from(["Ladder", "Nope", ""]), json_values),
        "extensions": st.one_of(
            st.just({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}), json_values
        ),
    },
)


def _dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    if kind == "open":
        return b"[" * depth
    inner = b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"query": "{ tierLadder { name } }", "variables": ' + inner + b"}"


def _huge_number(digits: int) -> bytes:
    return b'{"query": "{ tierLadder { name } }", "variables": {"n": 1' + b"0" * digits + b"}}"


def _multipart(parts: list[tuple[str, bytes]], boundary: str) -> bytes:
    body = b""
    for name, value in parts:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


bodies = st.one_of(
    request_objects.map(_dumps),
    st.lists(request_objects, max_size=3).map(_dumps),  # batches
    json_values.map(_dumps),  # any JSON at all
    st.binary(max_size=120),  # not JSON, not UTF-8
    st.tuples(DEPTHS, st.sampled_from(["list", "open", "object"])).map(lambda a: _nested(*a)),
    DIGITS.map(_huge_number),
    st.sampled_from([b"NaN", b'{"query": "{ tierLadder { name } }", "variables": {"n": NaN}}']),
    st.tuples(request_objects, st.sampled_from(["utf-16", "utf-32", "latin-1", "utf-8-sig"])).map(
        lambda args: json.dumps(args[0], ensure_ascii=False).encode(args[1], errors="replace")
    ),
    st.tuples(
        st.lists(
            st.tuples(
                st.sampled_from(["operations", "map", "0", "query"]),
                st.one_of(request_objects.map(_dumps), st.binary(max_size=40)),
            ),
            max_size=3,
        ),
        st.sampled_from(["b0undary", "x"]),
    ).map(lambda args: _multipart(*args)),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "application/json; charset=latin-1",
            "application/graphql-response+json",
            "application/graphql",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b0undary",
            "multipart/form-data",
            "",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
)
accepts = st.sampled_from(
    [None, "*/*", "application/json", "application/graphql-response+json", "text/html", "x/y;q=a"]
)
query_strings = st.dictionaries(
    st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
    st.one_of(
        st.sampled_from(QUERIES),
        json_values.map(json.dumps),
        st.text(max_size=40),
        # Short enough for a URL (httpx refuses a query string over 64 KiB).
        st.sampled_from([1, 64, 65, 1_000, 3_000]).map(lambda n: "[" * n),
        st.sampled_from([4_300, 4_301, 6_000]).map(lambda n: '{"n": 1' + "0" * n + "}"),
    ),
    max_size=4,
)


def assert_a_graphql_answer(response: httpx.Response, sent: object) -> None:
    assert response.status_code < 500, (sent, response.status_code, response.text[:300])
    if response.status_code >= 400:
        media_type = response.headers.get("content-type", "").split(";")[0]
        assert media_type in ("application/json", "application/graphql-response+json"), (
            sent,
            response.headers,
            response.text[:300],
        )
        errors = response.json()["errors"]
        assert errors and all(isinstance(e["message"], str) for e in errors), (sent, errors)


@pytest.mark.parametrize("backend", ["sqlite"])
@hypothesis_settings(
    max_examples=HTTP_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_http_requests_get_a_2xx_or_a_json_4xx(fuzz_client, backend, data):
    accept = data.draw(accepts, label="accept")
    headers = {"accept": accept} if accept is not None else {}
    if data.draw(st.booleans(), label="get"):
        params = data.draw(query_strings, label="params")
        response = await fuzz_client.get("/graphql", params=params, headers=headers)
        assert_a_graphql_answer(response, params)
        return
    body = data.draw(bodies, label="body")
    content_type = data.draw(content_types, label="content_type")
    response = await fuzz_client.post(
        "/graphql", content=body, headers={**headers, "content-type": content_type}
    )
    assert_a_graphql_answer(response, (content_type, body[:200]))
