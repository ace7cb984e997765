"""The webhook admin API: register (the secret shown once), change, rotate, the delivery log
and its replay, against a real receiver on 127.0.0.1; only admins."""

from __future__ import annotations

import asyncio
import time

import pytest
from standardwebhooks.webhooks import Webhook

from app.auth import Role
from app.models import WebhookDelivery
from app.services.notifications.outbox import relay_batch
from app.services.webhooks.events import WebhookSink
from app.services.webhooks.sending import send_webhooks
from tests import factories
from tests.factories import operation
from tests.services.webhooks.receiver import Receiver


@pytest.fixture
def settings(settings):
    """The receivers of these tests listen on 127.0.0.1."""
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def hooks():
    receiver = Receiver()
    yield receiver
    receiver.stop()


async def create(client, url: str, *types: str) -> dict:
    data = await operation(
        client, "CreateWebhookEndpoint", url=url, eventTypes=list(types) or ["task.completed"]
    )
    return data["createWebhookEndpoint"]


async def relay() -> int:
    return await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now())


async def test_an_admin_registers_an_endpoint_and_sees_the_secret_once(client, hooks):
    created = await create(client, hooks.url, "task.completed", "badge.earned")
    assert created["__typename"] == "WebhookEndpointWithSecret"
    assert created["secret"].startswith("whsec_")
    Webhook(created["secret"])  # a secret the standard library reads
    assert created["endpoint"]["eventTypes"] == ["badge.earned", "task.completed"]
    assert created["endpoint"]["enabled"] is True
    listed = await operation(client, "WebhookEndpoints")
    assert [e["id"] for e in listed["webhookEndpoints"]] == [created["endpoint"]["id"]]
    assert "secret" not in listed["webhookEndpoints"][0]
    assert {"points.earned", "tier.demoted"} <= {t["code"] for t in listed["webhookEventTypes"]}


async def test_an_update_and_a_rotation_change_what_they_say(client, hooks):
    created = await create(client, hooks.url)
    endpoint_id = created["endpoint"]["id"]
    updated = await operation(
        client, "UpdateWebhookEndpoint", id=endpoint_id, enabled=False, eventTypes=["points.earned"]
    )
    endpoint = updated["updateWebhookEndpoint"]["endpoint"]
    assert endpoint["enabled"] is False and endpoint["disabledAt"] is not None
    assert endpoint["eventTypes"] == ["points.earned"]
    rotated = (await operation(client, "RotateWebhookSecret", id=endpoint_id))[
        "rotateWebhookSecret"
    ]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]


async def test_bad_input_is_named_in_camel_case(client, hooks):
    created = await create(client, hooks.url, "task.completed", "member.teleported")
    assert created["__typename"] == "ValidationFailed"
    assert [p["field"] for p in created["problems"]] == ["eventTypes"]
    missing = await operation(client, "RotateWebhookSecret", id="not-an-id")
    assert missing["rotateWebhookSecret"]["problems"][0]["field"] == "id"


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SERVICE])
async def test_only_admins_manage_webhooks(client_as, role, hooks):
    other = await client_as(role)
    created = await create(other, hooks.url)
    assert created["__typename"] == "Forbidden"
    response = await other.post("/graphql", json={"query": "{ webhookEndpoints { id } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_delivery_log_shows_each_try_and_a_replay_sends_it_again(
    client, settings, hooks, clock
):
    hooks.start()
    created = await create(client, hooks.url, "task.completed")
    hooks.secret = created["secret"]
    await factories.task(reward_points=5)
    await factories.event(await factories.member())
    await relay()
    await send_webhooks(settings=settings, now=factories.now())

    log = await operation(client, "WebhookDeliveries", endpointId=created["endpoint"]["id"])
    [edge] = log["webhookDeliveries"]["edges"]
    node = edge["node"]
    assert node["status"] == "DELIVERED" and node["attempts"] == 1
    assert node["lastResponseCode"] == 204 and node["lastLatencyMs"] >= 0
    assert node["eventType"] == "task.completed" and node["nextTryAt"] is None

    replayed = await operation(client, "ReplayWebhookDelivery", id=node["id"])
    delivery = replayed["replayWebhookDelivery"]["delivery"]
    assert delivery["status"] == "PENDING" and delivery["messageId"] == node["messageId"]
    await send_webhooks(settings=settings, now=factories.now())
    assert hooks.repeats == [node["messageId"]]  # the receiver dropped it by webhook-id
    log = await operation(client, "WebhookDeliveries", endpointId=created["endpoint"]["id"])
    assert log["webhookDeliveries"]["edges"][0]["node"]["attempts"] == 2


async def test_a_slow_receiver_does_not_hold_up_the_api(client_as, client, settings, hooks):
    # given a receiver that takes 3 s to answer, and a delivery on its way to it
    hooks.delay = 3.0
    hooks.start()
    created = await create(client, hooks.url, "points.earned")
    hooks.secret = created["secret"]
    member = await factories.member(external_id="slow-1")
    service = await client_as(Role.SERVICE)
    await factories.event(member, "purchase", amount="50")
    await relay()
    sending = asyncio.create_task(send_webhooks(settings=settings, now=factories.now()))
    await asyncio.sleep(0.3)  # the POST is under way
    # when a back end records an event meanwhile, it is answered at once
    started = time.perf_counter()
    answer = await operation(
        service,
        "RecordEvent",
        input={
            "externalMemberId": "slow-1",
            "type": "purchase",
            "amount": 20,
            "occurredAt": factories.now().isoformat(),
            "idempotencyKey": "slow-receiver-2",
        },
    )
    took = time.perf_counter() - started
    assert answer["recordEvent"]["__typename"] == "EventRecorded"
    assert took < 1.5
    assert not sending.done()
    # and the delivery still arrives
    assert (await sending)["delivered"] == 1
    delivery = await WebhookDelivery.get()
    assert delivery.last_latency_ms >= 3000
