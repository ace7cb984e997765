"""The HTTP surface: health, readiness, metrics, GraphiQL, limits and error masking."""

from __future__ import annotations

import logging

import httpx
import pytest

from app.config import Environment
from app.main import create_app
from tests import factories


async def test_healthz_says_the_process_is_alive(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def serve(settings):
    """An app with its lifespan running, and a client on it."""
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return lifespan, http


async def test_readyz_checks_redis_when_configured(settings, redis_url):
    lifespan, http = await serve(settings.model_copy(update={"redis_url": redis_url}))
    try:
        response = await http.get("/readyz")
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_is_503_when_redis_does_not_answer(settings):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    lifespan, http = await serve(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))
    try:
        response = await http.get("/readyz")
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")


async def test_graphiql_is_served_in_development(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_production_hides_graphiql_and_masks_unexpected_errors(settings, monkeypatch):
    prod = settings.model_copy(update={"env": Environment.PRODUCTION})
    lifespan, http = await serve(prod)
    try:
        page = await http.get("/graphql", headers={"accept": "text/html"})

        async def broken(*args, **kwargs):
            raise RuntimeError("connection string postgres://secret@db leaked")

        monkeypatch.setattr("app.api.tiers.dataloaders.programme_at", broken)
        masked = (await http.post("/graphql", json={"query": "{ tierLadder { name } }"})).json()
        bad_input = (
            await http.post("/graphql", json={"query": '{ member(id: "x") { id } }'})
        ).json()
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
    assert page.status_code == 404, page.text
    assert masked["errors"][0]["message"] == "Unexpected error."
    assert "secret" not in str(masked)
    # Errors about the client's own input stay readable.
    assert bad_input["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_production_keeps_variable_errors_readable(settings):
    # A variable that does not coerce is the client's error (graphql-core wraps it in a
    # GraphQLError): masking it left clients with "Unexpected error." and nothing to fix.
    lifespan, http = await serve(settings.model_copy(update={"env": Environment.PRODUCTION}))
    try:
        body = (
            await http.post(
                "/graphql",
                json={
                    "query": "query($n: Int!) { members(first: $n) { edges { cursor } } }",
                    "variables": {"n": "ten"},
                },
            )
        ).json()
    finally:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)
    assert body["data"] is None
    assert "Int cannot represent non-integer value" in body["errors"][0]["message"]


async def test_too_deep_a_query_is_refused(client):
    deep = "{ members(first: 1) { edges { node { " + "tier { name } " + "} } } }"
    assert "errors" not in await factories.graphql(client, deep)
    nested = "a { " * 12 + "b" + " }" * 12
    body = await factories.graphql(client, "{ " + nested + " }")
    assert "errors" in body


async def test_aliases_beyond_the_limit_are_refused(client):
    many = " ".join(f"a{i}: tierLadder {{ name }}" for i in range(40))
    body = await factories.graphql(client, "{ " + many + " }")
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_each_request_logs_one_structured_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="laurel.request"):
        await client.post("/graphql", json={"query": "query Ladder { tierLadder { name } }"})
    lines = [r for r in caplog.records if r.name == "laurel.request"]
    assert len(lines) == 1
    fields = lines[0].fields
    assert fields["operation"] == "Ladder"
    assert fields["outcome"] == "ok"
    assert fields["status"] == 200
    assert fields["duration_ms"] >= 0


async def test_metrics_count_operations_and_report_the_pool(client):
    await client.post("/graphql", json={"query": "query Ladder { tierLadder { name } }"})
    await client.post("/graphql", json={"query": "query Broken { nope }"})

    text = (await client.get("/metrics")).text

    assert 'laurel_graphql_operations_total{operation="Ladder",outcome="ok"} 1.0' in text
    assert 'laurel_graphql_operations_total{operation="Broken",outcome="error"} 1.0' in text
    assert 'laurel_graphql_operation_duration_seconds_count{operation="Ladder"} 1.0' in text
    assert 'laurel_http_requests_total{route="/graphql",status="200"} 2.0' in text
    assert 'laurel_db_pool_connections{state="open"}' in text


async def test_metrics_report_the_outbox_and_the_scheduled_jobs(client, settings):
    from datetime import timedelta

    from app.models import OutboxMessage
    from app.services.jobs.runs import claim
    from app.services.jobs.schedule import JOBS, run_job

    waiting_since = factories.now() - timedelta(seconds=90)
    await OutboxMessage.create(topic="event.recorded", payload={}, created_at=waiting_since)
    await run_job(JOBS["ladder_switch"], settings=settings, clock=factories.now)
    await claim(
        name="grant", slot="s", now=factories.now() - timedelta(hours=1), lease=timedelta(minutes=5)
    )
    await claim(name="grant", slot="s", now=factories.now(), lease=timedelta(minutes=5))

    text = (await client.get("/metrics")).text

    assert "laurel_outbox_backlog 1.0" in text
    lag = next(line for line in text.splitlines() if line.startswith("laurel_outbox_lag_seconds "))
    assert 90 <= float(lag.split()[1]) < 120
    assert 'laurel_job_runs{job="ladder_switch",status="done"} 1.0' in text
    assert 'laurel_job_retries{job="grant"} 1.0' in text
    assert 'laurel_job_last_duration_seconds{job="ladder_switch"}' in text


def test_operation_labels_are_bounded():
    from app.observability import MAX_OPERATION_LABELS, Metrics

    metrics = Metrics()
    labels = {metrics.operation_label(f"Op{i}") for i in range(MAX_OPERATION_LABELS + 50)}
    assert len(labels) == MAX_OPERATION_LABELS + 1  # the rest share "other"
    assert metrics.operation_label("drop table;") == "invalid"
    assert metrics.operation_label(None) == "anonymous"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_plain_endpoints_answer_get(client, path):
    assert (await client.get(path)).status_code == 200


async def test_a_repeated_document_is_validated_once(client):
    from app.api.schema import validated_documents as cache

    query = {"query": "query Ladder { tierLadder { name rank } }"}
    await client.post("/graphql", json=query)
    before = cache.cache_info()

    for _ in range(3):
        await client.post("/graphql", json=query)

    after = cache.cache_info()
    # Stock QueryDepthLimiter/MaxAliasesLimiter made every request a miss (see schema.py).
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)
