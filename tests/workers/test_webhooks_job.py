"""Webhook deliveries sent by a real arq worker (workers/webhooks.py) against real Redis,
to a receiver on 127.0.0.1 that verifies their signatures."""

from __future__ import annotations

from app import db
from app.models import DeliveryStatus, WebhookDelivery
from app.services.notifications.outbox import relay_batch
from app.services.shared.audit import Actor
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
from app.services.webhooks.events import WebhookSink
from tests import factories
from tests.services.webhooks.receiver import Receiver
from tests.workers.burst import run_one
from workers.settings import WorkerSettings


async def run_sender(settings, redis_url: str) -> dict:
    return await run_one(settings, redis_url, "send_webhook_deliveries")


async def test_the_worker_sends_due_deliveries_signed(settings, redis_url):
    # The receiver listens on 127.0.0.1: the send-time URL check must let it through.
    settings = settings.model_copy(update={"webhooks_allow_private": True})
    hooks = Receiver().start()
    try:
        async with db.connect(settings):
            endpoint = await create_endpoint(
                url=hooks.url,
                event_types=["task.completed"],
                policy=UrlPolicy(https_only=False, allow_private=True),
                actor=Actor(subject="test-admin", role="admin"),
                now=factories.now(),
            )
            hooks.secret = endpoint.secret
            await factories.task(reward_points=10)
            await factories.event(await factories.member())
            await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now())

        result = await run_sender(settings, redis_url)
        # the job runs again (arq may retry): nothing is due, nothing is sent twice
        again = await run_sender(settings, redis_url)

        assert result["delivered"] == 1 and again["sent"] == 0
        assert hooks.types() == ["task.completed"] and hooks.repeats == []
        async with db.connect(settings):
            delivery = await WebhookDelivery.get(endpoint_id=endpoint.id)
        assert delivery.status == DeliveryStatus.DELIVERED
    finally:
        hooks.stop()


def test_the_worker_sends_every_five_seconds():
    [webhooks_cron] = [
        c for c in WorkerSettings.cron_jobs if c.name == "cron:send_webhook_deliveries"
    ]
    assert webhooks_cron.second == set(range(0, 60, 5)) and webhooks_cron.unique
