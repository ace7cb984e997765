"""Factories: build programme data through the services, as real callers would."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from app.auth import Role, mint_token
from app.config import Settings
from app.models import Badge, GrowthTask, LadderVersion, Member, Reward
from app.services.activity.events import EventPolicy, Recorded, record_event
from app.services.members.enrollment import enroll_member
from app.services.tiers.ladder import publish_ladder
from gamification.badges import BadgeMetric
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import clock
from tests.operations import payload

LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 1_000, 800, Decimal("1.10")),
    TierRule("gold", "Gold", 2, 5_000, 4_000, Decimal("1.25")),
)
ZONE = ZoneInfo("Asia/Shanghai")
POLICY = EventPolicy(zone=ZONE)
_serial = itertools.count(1)


def now() -> datetime:
    """The test's clock (tests/clock.py): what every factory dates its rows from."""
    return clock.current.now()


async def ladder(*, tiers: tuple[TierRule, ...] = LADDER) -> LadderVersion:
    return await publish_ladder(
        tiers=tiers, effective_at=now() - timedelta(days=1), now=now() - timedelta(days=1)
    )


async def member(**overrides: Any) -> Member:
    """Enroll a member (publishing the default ladder first if there is none)."""
    if not await LadderVersion.exists():
        await ladder()
    n = next(_serial)
    fields: dict[str, Any] = {
        "external_id": f"crm-{n:05d}",
        "display_name": f"Member {n}",
        "birthday": date(1990, 1, 1),
    }
    fields.update(overrides)
    enrollment = await enroll_member(now=now(), zone=ZONE, **fields)
    return enrollment.member


async def task(**overrides: Any) -> GrowthTask:
    n = next(_serial)
    fields: dict[str, Any] = {
        "code": f"task-{n}",
        "name": f"Task {n}",
        "event_type": "check_in",
        "condition": Condition.COUNT,
        "target": 1,
        "window": Window.LIFETIME,
        "per_window_limit": 1,
        "reward_points": 10,
    }
    fields.update(overrides)
    return await GrowthTask.create(**fields)


async def badge(**overrides: Any) -> Badge:
    n = next(_serial)
    fields: dict[str, Any] = {
        "code": f"badge-{n}",
        "name": f"Badge {n}",
        "metric": BadgeMetric.TASKS_COMPLETED,
        "thresholds": [1],
    }
    fields.update(overrides)
    return await Badge.create(**fields)


async def reward(**overrides: Any) -> Reward:
    n = next(_serial)
    fields: dict[str, Any] = {"code": f"reward-{n}", "name": f"Reward {n}", "points_cost": 100}
    fields.update(overrides)
    return await Reward.create(**fields)


async def event(
    member: Member,
    type: str = "check_in",
    *,
    at: datetime | None = None,
    amount: str | Decimal = "0",
    key: str | None = None,
    dry_run: bool = False,
    **extra: Any,
) -> Recorded:
    return await record_event(
        member_id=member.id,
        type=type,
        occurred_at=at or now(),
        amount=Decimal(amount),
        idempotency_key=key or f"evt-{next(_serial)}",
        dry_run=dry_run,
        policy=POLICY,
        now=extra.pop("now", None) or now(),
        **extra,
    )


class ClientAs(Protocol):
    """The ``client_as`` fixture: an HTTP client of the app signed in as ``role``."""

    async def __call__(
        self,
        role: Role | None,
        member: Member | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.AsyncClient: ...


def bearer(settings: Settings, role: Role, *, member_id: int | None = None) -> dict[str, str]:
    """Authorization headers for a freshly minted token of ``role``."""
    token = mint_token(
        settings=settings, role=role, subject=f"test-{role.value}", member_id=member_id, now=now()
    )
    return {"Authorization": f"Bearer {token}"}


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST an ad-hoc document; assert HTTP 200 and return the JSON body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def operation(client: httpx.AsyncClient, name: str, **variables: Any) -> dict[str, Any]:
    """Send a client operation from graphql/operations/; assert it ran without errors."""
    response = await client.post("/graphql", json=payload(name, **variables))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def season_input(**overrides: Any) -> dict[str, Any]:
    """A CreateSeasonInput of a season starting tomorrow, with ``overrides``."""
    today = now()
    fields = {
        "code": "double-11",
        "name": "Double 11",
        "startsAt": (today + timedelta(days=1)).isoformat(),
        "endsAt": (today + timedelta(days=12)).isoformat(),
        "description": "Singles' Day",
    }
    return fields | overrides


# What a member's personal data looks like in member_with_everything: erasure must leave
# none of it anywhere in the database.
PERSONAL = {
    "external_id": "crm-ada-1815",
    "display_name": "Ada Lovelace",
    "birthday": date(1985, 12, 10),
    "email": "ada@example.com",
}


async def member_with_everything() -> Member:
    """A member with a row in every table that holds something about a member: profile
    changes and a flag (audit), events with attributes, a reversal, a completed task, a
    badge, a promotion and its benefit, a redemption, notifications, board scores, facts,
    an adjustment, points pending in a return window, and a webhook delivery naming it."""
    from app.models import (
        Benefit,
        EvaluationStep,
        EventType,
        Tier,
        TierBenefit,
        TierEvaluationMember,
        WebhookEndpoint,
    )
    from app.services.activity.reversals import reverse_event
    from app.services.leaderboards.boards import BoardDefinition, create_board, flag_member
    from app.services.members.lifecycle import update_member
    from app.services.notifications.outbox import relay_batch
    from app.services.points.ledger import adjust_points
    from app.services.rewards.redemptions import redeem_reward
    from app.services.shared.audit import Actor
    from app.services.webhooks.events import WebhookSink
    from gamification.benefits import BenefitKind
    from gamification.leaderboards import Metric, Period

    admin = Actor(subject="admin@brand.test", role="admin")
    await WebhookEndpoint.create(
        url="https://hooks.brand.test/laurel",
        event_types=["points.earned", "member.erased"],
        secret="whsec_" + "a" * 43,
        enabled=True,
        created_at=now(),
    )
    await create_board(
        definition=BoardDefinition(
            code="points", name="Top", metric=Metric.POINTS_EARNED, period=Period.ALL_TIME
        ),
        actor=admin,
        now=now(),
    )
    shipping = await Benefit.create(
        code="free-shipping", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    await TierBenefit.create(tier_code="silver", benefit=shipping)
    await badge(code="first-task", name="First task", thresholds=[1])
    await task(code="first-check-in", event_type="check_in", reward_points=10)
    ada = await member(
        external_id=PERSONAL["external_id"],
        display_name=PERSONAL["display_name"],
        birthday=PERSONAL["birthday"],
    )
    await update_member(
        member_id=ada.id,
        changes={"time_zone": "Europe/London", "locale": "en-GB"},
        actor=admin,
        now=now(),
        zone=ZONE,
    )
    await event(ada, "check_in", attributes={"store": "Ada's corner shop"})
    await event(
        ada,
        "purchase",
        amount="1500",
        key="order-1",
        attributes={"email": PERSONAL["email"], "name": PERSONAL["display_name"]},
    )
    await reverse_event(
        idempotency_key="order-1",
        reason="Returned one item",
        amount=Decimal("100"),
        allow_debt=False,
        zone=ZONE,
        now=now(),
    )
    await adjust_points(
        member_id=ada.id,
        delta=50,
        reason="Goodwill gesture",
        idempotency_key="goodwill-1",
        max_amount=10_000,
        allow_debt=False,
        actor=admin,
        now=now(),
    )
    prize = await reward(code="mug", name="Mug", points_cost=10)
    await redeem_reward(member_id=ada.id, reward_id=prize.id, idempotency_key="r-1", now=now())
    await flag_member(
        member_id=ada.id,
        flagged=True,
        reason="Ada Lovelace shares her account",
        actor=admin,
        now=now(),
    )
    # A demotion warning, as the tier evaluation writes it (its rules are tested elsewhere).
    silver = await Tier.get(code="silver", ladder_version__status="published")
    base = await Tier.get(code="member", ladder_version_id=silver.ladder_version_id)
    await TierEvaluationMember.create(
        evaluation=now().date().isoformat(),
        step=EvaluationStep.WARNED,
        member_id=ada.id,
        from_tier_id=silver.id,
        to_tier_id=base.id,
        growth=900,
        retention_threshold=800,
        batch="test",
        at=now(),
    )
    # A purchase whose point is still in its return window (a pending_points row).
    await EventType.filter(code="purchase").update(pending_days=14)
    await event(ada, "purchase", amount="1", key="order-2")
    await EventType.filter(code="purchase").update(pending_days=0)
    await relay_batch(sinks=[WebhookSink(clock=now)], now=now())
    return await Member.get(id=ada.id)
