"""The URL check again at send time (DNS rebinding): a name registered while it pointed at a
public address and pointing inside now is not contacted; the sender connects to the very
address it checked (stand-in resolvers: no DNS in tests)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from app.models import DeliveryStatus, WebhookDelivery
from app.services.notifications.outbox import relay_batch
from app.services.shared.audit import Actor
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint, new_secret
from app.services.webhooks.events import WebhookSink
from app.services.webhooks.sending import (
    CONCURRENCY,
    FIRST_RETRY_SECONDS,
    send_webhooks,
    sender_client,
)
from tests import factories
from tests.services.webhooks.receiver import Receiver
from tests.services.webhooks.test_urls import resolving

pytestmark = pytest.mark.usefixtures("orm")
ADMIN = Actor(subject="test-admin", role="admin")


@pytest.fixture
def hooks():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def a_delivery_to(
    url: str, registered_as: list[str], *, allow_private: bool = False
) -> WebhookDelivery:
    """An endpoint registered while its host resolved to ``registered_as``, and a
    delivery due to it."""
    await create_endpoint(
        url=url,
        event_types=["member.created"],
        policy=UrlPolicy(
            https_only=False,
            allow_private=allow_private,
            resolve=resolving({"hooks.brand.example": registered_as}),
        ),
        actor=ADMIN,
        now=factories.now(),
    )
    await factories.member()
    await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now())
    return await WebhookDelivery.get()


async def test_a_name_pointing_inside_at_send_time_is_not_contacted(settings, hooks):
    # given an endpoint registered while its name was public, and a receiver listening on
    # 127.0.0.1 at the URL's port
    url = f"http://hooks.brand.example:{hooks.port}/laurel-hooks"
    delivery = await a_delivery_to(url, registered_as=["93.184.216.34"])
    # when the name resolves to the loopback address at send time (DNS rebinding)
    now = factories.now()
    result = await send_webhooks(
        settings=settings,
        now=now,
        resolve=resolving({"hooks.brand.example": ["93.184.216.34", "127.0.0.1"]}),
    )
    # then the try fails with the reason, nothing reached the receiver, it is retried later
    assert (result["sent"], result["failed"]) == (1, 1)
    assert hooks.taken == [] and hooks.refused == 0
    tried = await WebhookDelivery.get(id=delivery.id)
    assert tried.last_error == (
        "refused at send time: hooks.brand.example points at a private, loopback or "
        "link-local address (127.0.0.1); LAUREL_WEBHOOKS_ALLOW_PRIVATE allows it"
    )
    assert (tried.status, tried.attempts, tried.last_response_code) == (
        DeliveryStatus.PENDING,
        1,
        None,
    )
    assert tried.next_try_at == now + timedelta(seconds=FIRST_RETRY_SECONDS)


async def test_a_name_that_no_longer_resolves_is_a_failure(settings, hooks):
    delivery = await a_delivery_to(
        f"http://hooks.brand.example:{hooks.port}/x", registered_as=["93.184.216.34"]
    )
    await send_webhooks(settings=settings, now=factories.now(), resolve=resolving({}))
    tried = await WebhookDelivery.get(id=delivery.id)
    assert tried.last_error == "the host hooks.brand.example does not resolve"
    assert hooks.taken == []


async def test_the_setting_lets_internal_addresses_through_at_send_time(settings, hooks):
    # registered while the setting was on; sent once with it off, then on
    delivery = await a_delivery_to(hooks.url, registered_as=[], allow_private=True)
    hooks.secret = (await delivery.endpoint).secret
    allowed = settings.model_copy(update={"webhooks_allow_private": True})
    refused = await send_webhooks(settings=settings, now=factories.now())
    assert refused["failed"] == 1 and hooks.taken == []
    await WebhookDelivery.filter(id=delivery.id).update(next_try_at=factories.now())
    sent = await send_webhooks(settings=allowed, now=factories.now())
    assert sent["delivered"] == 1 and hooks.types() == ["member.created"]


async def test_the_client_connects_to_the_address_checked_and_never_resolves_again(hooks):
    # "hooks.brand.example" does not resolve here: only the pin can take the POST there
    pins = {"hooks.brand.example": "127.0.0.1"}
    hooks.secret = new_secret()
    async with sender_client(pins) as client:
        answer = await client.post(
            f"http://hooks.brand.example:{hooks.port}/laurel-hooks", content=b"{}"
        )
        # a host that was not checked is not connected to at all
        with pytest.raises(httpx.ConnectError, match="was not checked"):
            await client.post("http://localhost:1/", content=b"{}")
    assert answer.status_code == 401  # the receiver answered (the body is not signed)
    assert hooks.refused == 1


async def test_more_posts_than_lanes_to_two_receivers_are_all_answered(hooks):
    other = Receiver().start()
    try:
        hooks.secret = other.secret = new_secret()
        async with sender_client({}, pinned_only=False) as client:
            answers = await asyncio.gather(
                *(
                    client.post((hooks if n % 2 else other).url, content=b"{}")
                    for n in range(3 * CONCURRENCY)
                )
            )
        assert [a.status_code for a in answers] == [401] * 3 * CONCURRENCY
        assert hooks.refused == other.refused == 3 * CONCURRENCY // 2
    finally:
        other.stop()
