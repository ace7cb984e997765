"""The changes that produce webhook events: each writes its outbox row in its transaction,
so a subscribed endpoint gets a delivery after the change commits and none when the change
rolls back (here: the change runs inside a transaction that is then rolled back)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from app.models import (
    Benefit,
    Member,
    Season,
    SeasonalBenefit,
    Tier,
    TierBenefit,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services.activity.imports import import_members
from app.services.benefits.grants import grant_tier_benefits
from app.services.members.lifecycle import deactivate_member, reactivate_member, update_member
from app.services.notifications.outbox import relay_batch
from app.services.seasons.switch import switch_seasons
from app.services.shared.audit import Actor
from app.services.tiers import versions
from app.services.tiers.evaluation import EvaluationPolicy, evaluate_tiers
from app.services.tiers.ladder import publish_ladder
from app.services.webhooks.endpoints import UrlPolicy, create_endpoint
from app.services.webhooks.events import WebhookSink
from gamification.activity.engine import GrowthWeights
from gamification.benefits import BenefitKind
from tests import factories
from tests.factories import ZONE

pytestmark = pytest.mark.usefixtures("orm")
ADMIN = Actor(subject="test-admin", role="admin")
LOCAL = UrlPolicy(https_only=False, allow_private=True)


class RolledBack(Exception):
    pass


@contextlib.asynccontextmanager
async def rolled_back() -> AsyncIterator[None]:
    """Run the body's changes inside a transaction that is rolled back at its end."""
    with pytest.raises(RolledBack):
        async with in_transaction():
            yield
            raise RolledBack


async def subscribed(*types: str) -> WebhookEndpoint:
    return await create_endpoint(
        url="http://127.0.0.1:9/hooks",
        event_types=types,
        policy=LOCAL,
        actor=ADMIN,
        now=factories.now(),
    )


async def delivered(event_type: str) -> list[dict[str, Any]]:
    """Relay every waiting outbox row, then the data of the deliveries of ``event_type``."""
    while await relay_batch(sinks=[WebhookSink(factories.now)], now=factories.now()):
        pass
    rows = await WebhookDelivery.filter(event_type=event_type).order_by("id")
    return [r.payload["data"] for r in rows]


def without_member(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("memberId", "memberExternalId")}


# --- members ---------------------------------------------------------------------------


async def test_an_enrolment_is_told_as_member_created():
    await factories.ladder()
    await subscribed("member.created")

    member = await factories.member()
    async with rolled_back():
        await factories.member(external_id="crm-rolled-back")

    [data] = await delivered("member.created")
    assert data["memberId"] == member.id and data["memberExternalId"] == member.external_id
    assert without_member(data) == {
        "tier": "member",
        "joinedAt": member.joined_at.isoformat(),
        "source": "api",
    }


async def test_a_bulk_import_tells_each_member_created(tmp_path: Path):
    await factories.ladder()
    await subscribed("member.created")
    path = tmp_path / "members.csv"
    path.write_text("external_id,display_name\nimp-1,One\nimp-2,Two\nimp-1,Again\n")
    rolled = tmp_path / "rolled.csv"
    rolled.write_text("external_id,display_name\nimp-3,Three\n")

    await import_members(path, clock=factories.now, zone=ZONE)
    async with rolled_back():
        await import_members(rolled, clock=factories.now, zone=ZONE)

    told = await delivered("member.created")
    assert sorted(d["memberExternalId"] for d in told) == ["imp-1", "imp-2"]
    assert {d["source"] for d in told} == {"import"}


async def test_a_profile_change_is_told_as_member_updated():
    member = await factories.member()
    await subscribed("member.updated")

    await update_member(
        member_id=member.id,
        changes={
            "display_name": " Ada ",
            "birthday": date(1991, 2, 3),
            "leaderboard_opt_out": True,
        },
        actor=ADMIN,
        now=factories.now(),
        zone=ZONE,
    )
    async with rolled_back():
        await update_member(
            member_id=member.id,
            changes={"display_name": "Rolled back"},
            actor=ADMIN,
            now=factories.now(),
            zone=ZONE,
        )

    [data] = await delivered("member.updated")
    assert data["memberId"] == member.id
    assert data["changes"] == {
        "displayName": "Ada",
        "birthday": "1991-02-03",
        "leaderboardOptOut": True,
    }


async def test_deactivation_and_reactivation_are_told_once_each():
    member = await factories.member()
    await subscribed("member.deactivated", "member.reactivated")
    now = factories.now()

    async with rolled_back():
        await deactivate_member(member_id=member.id, reason="Rolled back", actor=ADMIN, now=now)
    await deactivate_member(member_id=member.id, reason="Closed the account", actor=ADMIN, now=now)
    await deactivate_member(member_id=member.id, reason="Again", actor=ADMIN, now=now)
    await reactivate_member(member_id=member.id, actor=ADMIN, now=now)

    assert [without_member(d) for d in await delivered("member.deactivated")] == [
        {"reason": "Closed the account"}
    ]
    assert [d["memberId"] for d in await delivered("member.reactivated")] == [member.id]


# --- tiers -----------------------------------------------------------------------------


def _local(day: date, hour: int = 0, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def next_evaluation() -> date:
    """The first of a month comfortably after the test clock's today."""
    soon = factories.now().astimezone(ZONE).date() + timedelta(days=40)
    return soon.replace(day=1)


async def gold_member_at_risk() -> tuple[Member, Benefit]:
    """A Gold member below Gold's retention (4,000), holding Gold's lounge."""
    version = await publish_ladder(
        tiers=factories.LADDER,
        effective_at=factories.now() - timedelta(days=400),
        now=factories.now() - timedelta(days=400),
    )
    gold = await Tier.get(ladder_version_id=version.id, code="gold")
    lounge = await Benefit.create(
        code="gold-lounge", name="Gold lounge", kind=BenefitKind.PRIORITY_SERVICE
    )
    await TierBenefit.create(tier_code="gold", benefit=lounge)
    member = await factories.member()
    await Member.filter(id=member.id).update(tier_id=gold.id, growth=3_000)
    async with in_transaction() as conn:
        await grant_tier_benefits(conn, member_id=member.id, tier_code="gold", now=factories.now())
    return member, lounge


async def test_the_retention_warning_is_told_as_tier_warned():
    member, _ = await gold_member_at_risk()
    await subscribed("tier.warned")
    evaluated = next_evaluation()
    warn_at = _local(evaluated - timedelta(days=7))
    policy = EvaluationPolicy(zone=ZONE)

    async with rolled_back():
        await evaluate_tiers(policy=policy, now=warn_at)
    assert await delivered("tier.warned") == []
    result = await evaluate_tiers(policy=policy, now=warn_at)

    assert result["warned"] == 1
    [data] = await delivered("tier.warned")
    assert data["memberId"] == member.id
    assert without_member(data) == {
        "from": "gold",
        "to": "silver",
        "evaluation": evaluated.isoformat(),
        "retention": 4_000,
        "deadline": evaluated.isoformat(),
        "missing": 1_000,
    }


async def test_benefits_ended_by_a_demotion_are_told_as_benefit_revoked():
    member, lounge = await gold_member_at_risk()
    await subscribed("benefit.revoked", "tier.demoted")
    at = _local(next_evaluation())
    policy = EvaluationPolicy(zone=ZONE)

    async with rolled_back():
        await evaluate_tiers(policy=policy, now=at)
    assert await delivered("benefit.revoked") == []
    await evaluate_tiers(policy=policy, now=at)

    [data] = await delivered("benefit.revoked")
    assert data["memberId"] == member.id
    assert without_member(data) | {"grant_id": 0} == {
        "grant_id": 0,
        "code": lounge.code,
        "name": lounge.name,
        "kind": "priority_service",
        "source": "tier",
        "validTo": at.isoformat(),
        "reason": "demotion",
    }
    assert len(await delivered("tier.demoted")) == 1


async def test_a_published_ladder_version_is_told_as_ladder_published():
    await factories.ladder()
    await subscribed("ladder.published")
    now = factories.now()

    async def publish(notes: str) -> int:
        draft = await versions.create_draft(
            tiers=factories.LADDER, weights=GrowthWeights(), notes=notes, actor=ADMIN, now=now
        )
        version, _ = await versions.publish(
            version_id=draft.id,
            effective_at=now + timedelta(days=30),
            notice=timedelta(days=14),
            actor=ADMIN,
            now=now,
        )
        return version.id

    async with rolled_back():
        await publish("rolled back")
    version_id = await publish("Gold gets easier")

    [data] = await delivered("ladder.published")
    assert data == {
        "versionId": version_id,
        "number": 2,
        "effectiveAt": (now + timedelta(days=30)).isoformat(),
        "tiers": ["member", "silver", "gold"],
        "notes": "Gold gets easier",
    }


# --- seasons ---------------------------------------------------------------------------


async def spring_for_everyone() -> tuple[Season, Benefit]:
    local = (factories.now() + timedelta(days=2)).astimezone(ZONE)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    spring = await Season.create(
        code="spring", name="Spring", starts_at=start, ends_at=start + timedelta(days=14)
    )
    coupon = await Benefit.create(
        code="coupon",
        name="Festival coupon",
        kind=BenefitKind.COUPON,
        value={"code_prefix": "FEST", "percent": 10},
    )
    await SeasonalBenefit.create(season=spring, benefit=coupon, tier_codes=["member"])
    return spring, coupon


async def test_a_season_is_told_started_once_and_ended_once_with_its_benefits_revoked():
    member = await factories.member()
    spring, coupon = await spring_for_everyone()
    await subscribed("season.started", "season.ended", "benefit.revoked")
    season_data = {
        "seasonId": spring.id,
        "code": "spring",
        "name": "Spring",
        "startsAt": spring.starts_at.isoformat(),
        "endsAt": spring.ends_at.isoformat(),
    }

    async with rolled_back():
        await switch_seasons(now=spring.starts_at)
    assert await delivered("season.started") == []
    await switch_seasons(now=spring.starts_at)
    await switch_seasons(now=spring.starts_at + timedelta(minutes=1))
    assert await delivered("season.started") == [season_data]

    async with rolled_back():
        await switch_seasons(now=spring.ends_at)
    assert await delivered("season.ended") == []
    assert await delivered("benefit.revoked") == []
    await switch_seasons(now=spring.ends_at)
    await switch_seasons(now=spring.ends_at + timedelta(minutes=1))

    assert await delivered("season.ended") == [season_data | {"expiredGrants": 1}]
    [revoked] = await delivered("benefit.revoked")
    assert revoked["memberId"] == member.id
    assert (revoked["code"], revoked["source"], revoked["reason"], revoked["validTo"]) == (
        coupon.code,
        "season",
        "season_ended",
        spring.ends_at.isoformat(),
    )
