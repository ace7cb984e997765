"""Factories: build programme data through the services, as real callers would."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.models import LadderVersion, Member
from app.services.ladder import publish_ladder
from app.services.members import enroll_member
from gamification.ladder import TierRule
from tests.operations import payload

LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 1_000, 800, Decimal("1.10")),
    TierRule("gold", "Gold", 2, 5_000, 4_000, Decimal("1.25")),
)
ZONE = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def now() -> datetime:
    return datetime.now(UTC)


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
