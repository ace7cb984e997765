"""memberUpdates over graphql-transport-ws, against the app served on a real socket."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from tortoise.transactions import in_transaction

from app import db
from app.api.shared.ids import encode_id
from app.auth import Role
from app.main import create_app
from app.models import Benefit, Tier, TierBenefit
from app.services.activity.reversals import reverse_event
from app.services.benefits.grants import grant_tier_benefits
from app.services.notifications.outbox import outbox_written
from gamification.benefits import BenefitKind
from tests import factories
from tests.factories import bearer
from tests.live import free_port, live_socket, serving

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings(settings):
    """The suite's settings with the outbox relay on: it is what pushes the updates."""
    return settings.model_copy(update={"relay_outbox": True})


@pytest.fixture
def postgres_settings(postgres_settings):
    return postgres_settings.model_copy(update={"relay_outbox": True})


@asynccontextmanager
async def started(settings, **overrides):
    """The app with other settings, lifespan running, served on a real port."""
    application = create_app(settings.model_copy(update=overrides))
    async with application.router.lifespan_context(application):
        async with serving(application) as url:
            yield url


async def promoting_programme():
    """A check-in completes a task worth 10 points and 1,000 growth (Silver's entry),
    which earns a badge."""
    await factories.task(code="first-visit", name="First visit", reward_growth=1_000)
    await factories.badge(code="starter", name="Starter")


async def test_a_member_hears_points_task_badge_and_tier_as_they_commit(app, settings):
    member = await factories.member()
    await promoting_programme()
    async with serving(app) as url, live_socket(url) as ws:
        assert (await ws.init(bearer(settings, Role.MEMBER, member_id=member.id)))["type"] == (
            "connection_ack"
        )
        await ws.subscribe("1")
        await ws.silent(0.2)  # subscribed before anything happens

        recorded = await factories.event(member, "check_in")

        points, task, badge, tier = await ws.updates("1", 4)
    earned = recorded.outcome["points"]  # the check-in's own points and the task's 10
    assert earned > 10
    assert points["__typename"] == "PointsChanged"
    assert (points["delta"], points["balance"], points["reason"]) == (earned, earned, "ACTIVITY")
    assert (task["__typename"], task["taskCode"], task["taskName"]) == (
        "TaskCompleted",
        "first-visit",
        "First visit",
    )
    [completed] = recorded.outcome["tasksCompleted"]
    assert (task["points"], task["growth"]) == (completed["points"], completed["growth"])
    assert task["growth"] >= 1_000
    assert (badge["__typename"], badge["badgeCode"], badge["level"]) == (
        "BadgeEarned",
        "starter",
        1,
    )
    assert tier["__typename"] == "TierChanged"
    assert (tier["fromTierCode"], tier["toTierCode"]) == ("member", "silver")
    assert tier["toTier"] == {
        "id": encode_id("Tier", (await Tier.get(code="silver")).id),
        "code": "silver",
        "name": "Silver",
        "rank": 1,
    }
    assert len({points["id"], task["id"], badge["id"], tier["id"]}) == 4


async def test_a_member_hears_nothing_of_other_members(app, settings):
    member = await factories.member()
    other = await factories.member()
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(bearer(settings, Role.MEMBER, member_id=member.id))
        await ws.subscribe("1")
        await ws.silent(0.2)

        await factories.event(other, "check_in", amount="0")
        recorded = await factories.event(member, "purchase", amount="80")

        [update] = await ws.updates("1", 1)
        earned = recorded.outcome["points"]
        assert (update["delta"], update["balance"]) == (earned, earned)
        assert await ws.silent(0.5)


async def test_adjustments_redemptions_reversals_and_grants_are_pushed(app, settings, client):
    member = await factories.member()
    reward = await factories.reward(points_cost=30)
    benefit = await Benefit.create(
        code="free-ship", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    await TierBenefit.create(tier_code="member", benefit=benefit)
    member_client_headers = bearer(settings, Role.MEMBER, member_id=member.id)
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(member_client_headers)
        await ws.subscribe("1")
        await ws.silent(0.2)

        await factories.operation(
            client,
            "AdjustPoints",
            memberId=_member_gid(member),
            delta=100,
            reason="Goodwill for a late parcel",
            idempotencyKey="goodwill-1",
        )
        [adjusted] = await ws.updates("1", 1)
        assert (adjusted["delta"], adjusted["balance"], adjusted["reason"]) == (
            100,
            100,
            "ADJUSTMENT",
        )

        client.headers.update(member_client_headers)
        await factories.operation(client, "RedeemPoints", rewardId=_reward_gid(reward))
        [spent] = await ws.updates("1", 1)
        assert (spent["delta"], spent["balance"], spent["reason"]) == (-30, 70, "REDEMPTION")

        await factories.event(member, "purchase", amount="50", key="order-1")
        [earned] = await ws.updates("1", 1)
        assert earned["reason"] == "ACTIVITY" and earned["delta"] > 0
        await reverse_event(
            idempotency_key="order-1",
            reason="returned",
            now=factories.now(),
            allow_debt=False,
            zone=factories.ZONE,
        )
        [reversed_] = await ws.updates("1", 1)
        assert (reversed_["delta"], reversed_["reason"]) == (-earned["delta"], "REVERSAL")
        assert reversed_["balance"] == 70

        async with in_transaction() as conn:
            await grant_tier_benefits(
                conn, member_id=member.id, tier_code="member", now=factories.now()
            )
        outbox_written()
        [granted] = await ws.updates("1", 1)
        assert granted["__typename"] == "BenefitGranted"
        assert (granted["benefitCode"], granted["benefitName"], granted["kind"]) == (
            "free-ship",
            "Free shipping",
            "FREE_SHIPPING",
        )
        assert granted["grantId"]


def _member_gid(member):
    return encode_id("Member", member.id)


def _reward_gid(reward):
    return encode_id("Reward", reward.id)


@pytest.mark.parametrize("caller", ["marketer", "admin", "service"])
async def test_staff_follow_a_member_they_name(app, settings, caller):
    member = await factories.member()
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(bearer(settings, Role(caller)))
        await ws.subscribe("1", memberId=_member_gid(member))
        await ws.silent(0.2)
        recorded = await factories.event(member, "purchase", amount="20")
        [update] = await ws.updates("1", 1)
    assert update["delta"] == recorded.outcome["points"]


async def test_staff_must_name_the_member(app, settings):
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(bearer(settings, Role.ADMIN))
        await ws.subscribe("1")
        message = await ws.receive()
    assert _codes(message) == {"BAD_USER_INPUT"}


async def test_a_member_cannot_follow_another_member(app, settings):
    member = await factories.member()
    other = await factories.member()
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(bearer(settings, Role.MEMBER, member_id=member.id))
        await ws.subscribe("1", memberId=_member_gid(other))
        message = await ws.receive()
        assert _codes(message) == {"FORBIDDEN"}
        assert await ws.receive() == {"id": "1", "type": "complete"}
        await factories.event(other, "purchase", amount="20")
        assert await ws.silent(0.5)


def _codes(message):
    """The error codes of a subscription's refusal (a ``next`` with errors, or ``error``)."""
    assert message["id"] == "1", message
    if message["type"] == "error":
        errors = message["payload"]
    else:
        assert message["type"] == "next" and message["payload"]["data"] is None, message
        errors = message["payload"]["errors"]
    return {e.get("extensions", {}).get("code") for e in errors}


async def test_a_socket_must_authenticate_in_connection_init(app, settings):
    async with serving(app) as url:
        async with live_socket(url) as ws:  # subscribes without connection_init
            await ws.subscribe("1")
            assert await ws.closed_with() == 4401
        async with live_socket(url) as ws:  # connection_init without a token
            await ws.send({"type": "connection_init", "payload": {}})
            assert await ws.closed_with() == 4403
        async with live_socket(url) as ws:  # a token that is not ours
            await ws.send(
                {"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}}
            )
            assert await ws.closed_with() == 4403


async def test_a_silent_socket_is_closed_after_the_init_timeout(settings):
    async with started(settings, websocket_init_timeout_seconds=0.3) as url:
        async with live_socket(url) as ws:
            assert await ws.closed_with(seconds=5) == 4408


async def test_subscriptions_per_connection_are_capped(settings):
    member = await factories_member_for(settings)
    async with started(settings, max_subscriptions_per_connection=2) as url:
        async with live_socket(url) as ws:
            await ws.init(bearer(settings, Role.MEMBER, member_id=member.id))
            await ws.subscribe("1")
            await ws.subscribe("2")
            await ws.subscribe("3")
            message = await ws.receive()
            assert (message["id"], message["type"]) == ("3", "error")
            assert "limit" in message["payload"][0]["message"]
            assert message["payload"][0]["extensions"] == {
                "code": "SUBSCRIPTION_LIMIT_REACHED",
                "limit": 2,
            }
            # The first two still deliver.
            await factories.event(member, "purchase", amount="20")
            updates = [await ws.receive(), await ws.receive()]
            assert {u["id"] for u in updates} == {"1", "2"}


async def factories_member_for(settings):
    """A member enrolled before the app under test starts (outside any app fixture)."""
    async with db.connect(settings):
        return await factories.member()


async def test_only_subscriptions_run_over_websocket(app, settings):
    async with serving(app) as url, live_socket(url) as ws:
        await ws.init(bearer(settings, Role.ADMIN))
        await ws.subscribe("1", name="TierLadder")
        message = await ws.receive()
    assert (message["id"], message["type"]) == ("1", "error")
    assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "HTTP" in message["payload"][0]["message"]


async def test_trusted_documents_hold_on_websockets_too(settings):
    member = await factories_member_for(settings)
    async with started(settings, trusted_documents=True) as url:
        async with live_socket(url) as ws:
            await ws.init(bearer(settings, Role.MEMBER, member_id=member.id))
            await ws.send(
                {
                    "id": "ad-hoc",
                    "type": "subscribe",
                    "payload": {"query": "subscription { memberUpdates { id } }"},
                }
            )
            refused = await ws.receive()
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
            await ws.subscribe("registered")
            assert await ws.silent(0.3)


@contextmanager
def api_node(settings, redis_url: str, prefix: str, *, relay: bool) -> Iterator[str]:
    """A separate API process (uvicorn, as deployed) on the shared database and Redis;
    yields its http:// address."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env.update(
        LAUREL_DATABASE_URL=settings.database_url,
        LAUREL_REDIS_URL=redis_url,
        LAUREL_REDIS_PREFIX=prefix,
        LAUREL_JWT_SECRET=settings.jwt_secret,
        LAUREL_LOAD_DEMO="0",
        LAUREL_RELAY_OUTBOX="1" if relay else "0",
        LAUREL_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the API node did not start in 30 s"
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


async def test_two_api_nodes_on_one_redis_deliver_what_the_other_committed(
    postgres_settings, redis_url
):
    settings = postgres_settings
    prefix = f"laurel-test-{uuid.uuid4().hex[:8]}:"
    async with db.connect(settings):
        member = await factories.member()
    # Only node A relays the outbox: what node B's socket hears came through Redis.
    with (
        api_node(settings, redis_url, prefix, relay=True) as node_a,
        api_node(settings, redis_url, prefix, relay=False) as node_b,
    ):
        ws_url = node_b.replace("http://", "ws://") + "/graphql"
        async with live_socket(ws_url) as ws:
            await ws.init(bearer(settings, Role.MEMBER, member_id=member.id))
            await ws.subscribe("1")
            await ws.silent(0.3)
            async with httpx.AsyncClient(
                base_url=node_a, headers=bearer(settings, Role.SERVICE)
            ) as service:
                body = await factories.operation(
                    service,
                    "RecordEvent",
                    input={
                        "memberId": encode_id("Member", member.id),
                        "type": "purchase",
                        "amount": "120",
                        "occurredAt": factories.now().isoformat(),
                        "idempotencyKey": "order-on-node-a",
                    },
                )
            [update] = await ws.updates("1", 1)
    points = body["recordEvent"]["pointsAwarded"]
    assert points > 0
    assert (update["__typename"], update["delta"], update["balance"]) == (
        "PointsChanged",
        points,
        points,
    )
