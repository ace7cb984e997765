"""What a request leaves in the logs: one structured line; a traceback only for our faults.

Expected client errors (a validation error, an auth failure, a typed failure, a refused
document, a malformed body) are a single info line without a traceback. A fault (an
exception nothing meant) is the same single line, at error level, with its traceback.
The logging is the same on both databases: these run on SQLite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.observability import JsonFormatter
from tests import factories
from tests.operations import payload

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@contextmanager
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Every record Laurel and strawberry log meanwhile (laurel's loggers do not propagate
    to the root, where strawberry's go)."""
    found: list[logging.LogRecord] = []
    with caplog.at_level(logging.DEBUG, logger="laurel"), caplog.at_level(logging.DEBUG):
        start = len(caplog.records)
        yield found
        found.extend(r for r in caplog.records[start:] if r.name.startswith(("laurel", "strawb")))


def the_one_line(records: list[logging.LogRecord]) -> dict[str, object]:
    assert [r.name for r in records] == ["laurel.request"], [r.getMessage() for r in records]
    [record] = records
    line = JsonFormatter().format(record)
    assert "\n" not in line
    fields: dict[str, object] = json.loads(line)
    return fields


def assert_expected(records: list[logging.LogRecord]) -> dict[str, object]:
    fields = the_one_line(records)
    assert records[0].levelno == logging.INFO
    assert records[0].exc_info is None
    assert "exc" not in fields
    return fields


async def test_a_validation_error_is_one_line_without_a_traceback(client, caplog):
    with logged(caplog) as records:
        response = await client.post("/graphql", json={"query": "query Bad { tierLadder { x } }"})

    assert response.status_code == 200 and response.json()["errors"]
    fields = assert_expected(records)
    assert (fields["operation"], fields["outcome"], fields["status"]) == ("Bad", "error", 200)
    assert fields["codes"] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_parse_and_variable_errors_are_one_line_without_a_traceback(client, caplog):
    variables = {
        "query": "query($n: Int!) { members(first: $n) { edges { cursor } } }",
        "variables": {"n": "x"},
    }
    with logged(caplog) as parse_records:
        await client.post("/graphql", json={"query": "{ tierLadder {"})
    with logged(caplog) as variable_records:
        await client.post("/graphql", json=variables)

    assert assert_expected(parse_records)["codes"] == ["GRAPHQL_PARSE_FAILED"]
    assert assert_expected(variable_records)["codes"] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("authorization", ["Bearer not.a.token", "Basic abc"])
async def test_an_untrustworthy_token_is_one_line_without_a_traceback(
    client_as, caplog, authorization
):
    caller = await client_as(None, headers={"authorization": authorization})

    with logged(caplog) as records:
        response = await caller.post("/graphql", json=payload("TierLadder"))

    assert response.status_code == 401
    fields = assert_expected(records)
    assert (fields["status"], fields["outcome"]) == (401, "refused")
    assert fields["codes"] == ["UNAUTHENTICATED"]
    assert fields["reason"] == "MALFORMED"


async def test_an_anonymous_caller_refused_a_field_is_one_line_without_a_traceback(
    client_as, caplog
):
    anonymous = await client_as(None)

    with logged(caplog) as records:
        response = await anonymous.post("/graphql", json=payload("Members", first=1))

    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    fields = assert_expected(records)
    assert fields["codes"] == ["UNAUTHENTICATED"]


async def test_a_typed_failure_is_one_line_naming_it(client_as, caplog):
    member = await factories.member()
    as_member = await client_as(Role.MEMBER, member)
    award = payload(
        "AwardPoints",
        memberId=encode_id("Member", member.id),
        amount=5,
        reason="Goodwill",
        idempotencyKey="log-1",
    )

    with logged(caplog) as records:
        response = await as_member.post("/graphql", json=award)

    assert response.json()["data"]["awardPoints"]["__typename"] == "Forbidden"
    fields = assert_expected(records)
    assert (fields["operation"], fields["outcome"]) == ("AwardPoints", "ok")
    assert fields["failures"] == ["Forbidden"]


async def test_a_refused_document_is_one_line_without_a_traceback(client, caplog):
    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    with logged(caplog) as records:
        response = await client.post("/graphql", json=unknown)

    assert response.status_code == 400
    fields = assert_expected(records)
    assert (fields["outcome"], fields["codes"]) == ("refused", ["PERSISTED_QUERY_NOT_FOUND"])


@pytest.mark.parametrize(
    "body", [b"[" * 10_000, b"\xff\xfe", b'{"query": 1}'], ids=["deep", "not-utf8", "shape"]
)
async def test_a_malformed_body_is_one_line_without_a_traceback(client, caplog, body):
    with logged(caplog) as records:
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )

    assert response.status_code == 400
    fields = assert_expected(records)
    assert (fields["status"], fields["outcome"], fields["codes"]) == (
        400,
        "refused",
        ["BAD_REQUEST"],
    )


async def test_a_fault_in_a_resolver_is_one_error_line_with_its_traceback(
    client, caplog, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("the ladder table is on fire")

    monkeypatch.setattr("app.api.tiers.dataloaders.programme_at", broken)

    with logged(caplog) as records:
        response = await client.post("/graphql", json=payload("TierLadder"))

    assert response.status_code == 200 and response.json()["errors"]
    fields = the_one_line(records)
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None and records[0].exc_info[0] is RuntimeError
    assert "the ladder table is on fire" in str(fields["exc"])
    assert "Traceback" in str(fields["exc"])
    assert fields["faults"] == 1
    assert fields["codes"] == ["INTERNAL_SERVER_ERROR"]


async def test_a_fault_outside_graphql_is_a_json_500_and_one_line_with_its_traceback(
    app, client, caplog, monkeypatch
):
    async def broken(self, request):
        raise RuntimeError("the request parser broke")

    monkeypatch.setattr(type(app.state.graphql), "parse_http_body", broken)

    with logged(caplog) as records:
        response = await client.post("/graphql", json=payload("TierLadder"))

    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "parser broke" not in response.text
    fields = the_one_line(records)
    assert records[0].levelno == logging.ERROR
    assert "the request parser broke" in str(fields["exc"])
    assert fields["status"] == 500


async def test_a_client_gone_before_its_body_arrived_is_one_line_without_a_traceback(app, caplog):
    # Given a POST whose client disconnects before sending its body (wrk stopping a round)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"40")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    # When the app takes it
    with logged(caplog) as records:
        await app(scope, receive, send)

    # Then nothing is answered (no 500 to nobody) and the log has one info line, no traceback
    assert [m["type"] for m in sent] == []
    fields = assert_expected(records)
    assert (fields["status"], fields["outcome"]) == (499, "client_disconnected")
