"""Schemathesis fuzzes every root query and mutation: no 5xx, no unexpected resolver error.

Schemathesis (through hypothesis-graphql) builds documents from graphql/schema.graphql, one
root field per test; each is posted in-process to the real app, signed in as an admin so the
resolvers run, on a database with a few members and tasks. The examples are few and
derandomized: the same documents run on every machine, well inside a minute.
"""

from __future__ import annotations

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
    Path(__file__).parents[2] / "graphql" / "schema.graphql", config=CONFIG
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
