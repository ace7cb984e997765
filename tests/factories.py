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
