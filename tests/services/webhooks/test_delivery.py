"""Webhook deliveries end to end: a committed change, the relay, the sending job and a real
receiver on 127.0.0.1 that verifies signatures (tests/services/webhooks/receiver.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import AuditEntry, DeliveryStatus, OutboxMessage, WebhookDelivery, WebhookEndpoint
from app.services.jobs.schedule import JOBS, run_job
from app.services.notifications.outbox import relay_batch
from app.services.shared.audit import Actor
from app.services.shared.errors import NotFound
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint, new_secret, replay_delivery
from app.services.webhooks.events import WebhookSink
from app.services.webhooks.sending import FIRST_RETRY_SECONDS, MAX_ATTEMPTS, send_webhooks
from tests import factories
from tests.services.webhooks.receiver import Receiver

ADMIN = Actor(subject="test-admin", role="admin")
LOCAL = UrlPolicy(https_only=False, allow_private=True)


@pytest.fixture
def settings(settings):
    """The receivers listen on 127.0.0.1: the send-time URL check must let them through."""
    return settings.model_copy(update={"webhooks_allow_private": True})


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**options: float) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for r in made:
        r.stop()


async def endpoint_for(receiver: Receiver, *types: str) -> WebhookEndpoint:
    endpoint = await create_endpoint(
        url=receiver.url,
        event_types=types or ("points.earned", "task.completed"),
        policy=LOCAL,
        actor=ADMIN,
        now=factories.now(),
    )
    receiver.secret = endpoint.secret
    return endpoint


async def a_completed_task() -> None:
    """A member is enrolled and completes a task worth 10 points: two outbox rows (the
    enrolment's and the event's), two webhook events of the types the tests subscribe to."""
    await factories.task(reward_points=10)
    await factories.event(await factories.member())


async def relay() -> int:
    return await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now())


async def test_a_committed_change_is_delivered_signed_once(orm, settings, receiver):
    # given an endpoint subscribed to points and tasks, and a receiver verifying signatures
    hooks = receiver().start()
    endpoint = await endpoint_for(hooks)
    # when a member completes a task and the relay and the sending job run
    await a_completed_task()
    assert await relay() == 2
    sent = await send_webhooks(settings=settings, now=factories.now())
    # then both events arrived, verified with the endpoint's secret
    assert sent["delivered"] == 2
    assert hooks.types() == ["points.earned", "task.completed"]
    assert hooks.refused == 0
    first = hooks.taken[0]
    assert first["event"]["data"]["memberExternalId"].startswith("crm-")
    assert first["headers"]["webhook-signature"].startswith("v1,")
    rows = await WebhookDelivery.filter(endpoint_id=endpoint.id).order_by("position")
    assert [r.status for r in rows] == [DeliveryStatus.DELIVERED] * 2
    assert [r.last_response_code for r in rows] == [204, 204]
    assert all(r.attempts == 1 and r.last_latency_ms is not None for r in rows)
    assert sorted(t["id"] for t in hooks.taken) == sorted(r.msg_id for r in rows)


async def test_a_relay_pass_run_twice_adds_no_delivery(orm, receiver):
    await endpoint_for(receiver())
    await a_completed_task()
    await relay()
    # the same rows handed over again (as after a relay that failed after its inserts)
    await OutboxMessage.all().update(processed_at=None)
    await relay()
    assert await WebhookDelivery.all().count() == 2


async def test_only_subscribed_and_enabled_endpoints_get_deliveries(orm, receiver):
    tasks_only = await endpoint_for(receiver(), "task.completed")
    badges_only = await endpoint_for(receiver(), "badge.earned")
    off = await endpoint_for(receiver(), "points.earned")
    await WebhookEndpoint.filter(id=off.id).update(enabled=False)
    await a_completed_task()
    await relay()
    by_endpoint = {
        e: await WebhookDelivery.filter(endpoint_id=e).values_list("event_type", flat=True)
        for e in (tasks_only.id, badges_only.id, off.id)
    }
    assert by_endpoint == {tasks_only.id: ["task.completed"], badges_only.id: [], off.id: []}


async def test_a_refused_change_writes_no_delivery(orm, receiver):
    await endpoint_for(receiver())
    member = await factories.member()
    with pytest.raises(NotFound):
        await factories.event(member, "teleport")
    await relay()
    assert await WebhookDelivery.all().count() == 0


async def test_deliveries_roll_back_with_a_failed_relay_pass_and_come_with_the_next(orm, receiver):
    await endpoint_for(receiver())
    await a_completed_task()

    async def index_away(entries):
        raise ConnectionError("a later sink fails")

    with pytest.raises(ConnectionError):
        await relay_batch(sinks=[WebhookSink(factories.now), index_away], now=factories.now())
    assert await WebhookDelivery.all().count() == 0
    assert await relay() == 2
    assert await WebhookDelivery.all().count() == 2


async def test_a_receiver_that_is_down_gets_it_later_once(orm, settings, receiver, clock):
    # given a receiver that is not listening yet
    hooks = receiver()
    endpoint = await endpoint_for(hooks, "task.completed")
    await a_completed_task()
    await relay()
    clock.set(factories.now())
    # when the first try fails
    first = await send_webhooks(settings=settings, now=clock())
    assert first["failed"] == 1
    delivery = await WebhookDelivery.get(endpoint_id=endpoint.id)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error and delivery.last_response_code is None
    assert delivery.next_try_at == clock() + timedelta(seconds=FIRST_RETRY_SECONDS)
    assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since == clock()
    # then nothing is tried before the back-off is over
    assert (await send_webhooks(settings=settings, now=clock()))["sent"] == 0
    # and once the receiver is up, the retry delivers it, with the same webhook-id
    hooks.start()
    clock.advance(timedelta(seconds=FIRST_RETRY_SECONDS))
    assert (await send_webhooks(settings=settings, now=clock()))["delivered"] == 1
    delivery = await WebhookDelivery.get(id=delivery.id)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert [t["id"] for t in hooks.taken] == [delivery.msg_id]
    assert (await WebhookEndpoint.get(id=endpoint.id)).failing_since is None
    # a replay sends the same webhook-id: the receiver drops it as a repeat
    await replay_delivery(delivery_id=delivery.id, actor=ADMIN, now=clock())
    assert (await send_webhooks(settings=settings, now=clock()))["delivered"] == 1
    assert len(hooks.taken) == 1
    assert hooks.repeats == [delivery.msg_id]


async def test_a_receiver_with_another_secret_refuses_the_signature(orm, settings, receiver):
    hooks = receiver().start()
    endpoint = await endpoint_for(hooks, "task.completed")
    hooks.secret = new_secret()  # not the endpoint's
    await a_completed_task()
    await relay()
    result = await send_webhooks(settings=settings, now=factories.now())
    assert result["failed"] == 1
    assert hooks.refused == 1 and hooks.taken == []
    delivery = await WebhookDelivery.get(endpoint_id=endpoint.id)
    assert delivery.last_response_code == 401 and delivery.status == DeliveryStatus.PENDING


async def test_a_receiver_slower_than_the_timeout_is_a_failure(orm, settings, receiver):
    hooks = receiver(delay=1.5).start()
    endpoint = await endpoint_for(hooks, "task.completed")
    await a_completed_task()
    await relay()
    hurried = settings.model_copy(update={"webhooks_timeout_seconds": 0.3})
    result = await send_webhooks(settings=hurried, now=factories.now())
    assert result["failed"] == 1
    delivery = await WebhookDelivery.get(endpoint_id=endpoint.id)
    assert delivery.last_error == "no answer within 0.3 s"
    assert 300 <= delivery.last_latency_ms < 1500


async def test_an_endpoint_failing_too_long_is_disabled_and_audited(orm, settings, receiver, clock):
    hooks = receiver()  # never up
    endpoint = await endpoint_for(hooks, "task.completed")
    await a_completed_task()
    await relay()
    soon = settings.model_copy(update={"webhooks_disable_after": 60})
    clock.set(factories.now())
    await send_webhooks(settings=soon, now=clock())
    clock.advance(timedelta(seconds=30))
    await send_webhooks(settings=soon, now=clock())
    assert (await WebhookEndpoint.get(id=endpoint.id)).enabled
    clock.advance(timedelta(seconds=40))  # 70 s of failures
    result = await send_webhooks(settings=soon, now=clock())
    assert result["disabled_endpoints"] == [endpoint.id]
    disabled = await WebhookEndpoint.get(id=endpoint.id)
    assert not disabled.enabled and disabled.disabled_at == clock()
    audit = await AuditEntry.get(action="webhook_endpoint.disabled")
    assert audit.target_id == str(endpoint.id) and audit.actor_role == "system"
    # a disabled endpoint's deliveries wait: nothing is tried
    clock.advance(timedelta(hours=2))
    assert (await send_webhooks(settings=soon, now=clock()))["sent"] == 0
    assert (await WebhookDelivery.get(endpoint_id=endpoint.id)).status == DeliveryStatus.PENDING


async def test_a_delivery_out_of_tries_is_failed_until_replayed(orm, settings, receiver):
    hooks = receiver()  # never up
    endpoint = await endpoint_for(hooks, "task.completed")
    await a_completed_task()
    await relay()
    await WebhookDelivery.filter(endpoint_id=endpoint.id).update(attempts=MAX_ATTEMPTS - 1)
    result = await send_webhooks(settings=settings, now=factories.now())
    assert result["gave_up"] == 1
    delivery = await WebhookDelivery.get(endpoint_id=endpoint.id)
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_try_at is None
    hooks.start()
    await replay_delivery(delivery_id=delivery.id, actor=ADMIN, now=factories.now())
    assert (await send_webhooks(settings=settings, now=factories.now()))["delivered"] == 1
    assert [t["id"] for t in hooks.taken] == [delivery.msg_id]


async def test_the_minutely_job_sends_them_as_embedded_mode_runs_it(orm, settings, receiver, clock):
    hooks = receiver().start()
    await endpoint_for(hooks, "task.completed")
    await a_completed_task()
    await relay()
    result = await run_job(JOBS["webhook_deliveries"], settings=settings, clock=clock)
    assert result is not None and result["delivered"] == 1
    assert hooks.types() == ["task.completed"]
