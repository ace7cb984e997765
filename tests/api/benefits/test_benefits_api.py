"""Benefits over HTTP: marketers keep the catalogue and its matrices; members use grants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Benefit, BenefitGrant, OutboxMessage, Season
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from tests import factories
from tests.factories import operation


@pytest.fixture
async def member():
    return await factories.member()


@pytest.fixture
async def member_app(client_as, member):
    return await client_as(Role.MEMBER, member)


async def held(member, code="ship", **fields) -> BenefitGrant:
    perk = await Benefit.get_or_none(code=code) or await Benefit.create(
        code=code, name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    values = {
        "source": GrantSource.TIER,
        "source_ref": "gold",
        "valid_from": factories.now() - timedelta(hours=1),
    } | fields
    return await BenefitGrant.create(member=member, benefit=perk, **values)


def gid(grant: BenefitGrant) -> str:
    return encode_id("BenefitGrant", grant.id)


async def test_a_marketer_builds_the_catalogue_matrix_and_season_and_all_is_audited(
    marketer, client
):
    await factories.ladder()
    season = await Season.create(
        code="double11",
        name="Double 11",
        starts_at=factories.now(),
        ends_at=factories.now() + timedelta(days=11),
    )
    created = (
        await operation(
            marketer,
            "CreateBenefit",
            input={
                "code": "double",
                "name": "Double points",
                "kind": "POINTS_MULTIPLIER",
                "value": {"factor": 2},
            },
        )
    )["createBenefit"]
    benefit_id = created["benefit"]["id"]
    season_id = encode_id("Season", season.id)

    updated = await operation(
        marketer, "UpdateBenefit", id=benefit_id, input={"value": {"factor": 3}}
    )
    matrix_set = await operation(
        marketer, "SetTierBenefits", tierCode="gold", benefitCodes=["double"]
    )
    attached = await operation(
        marketer,
        "AttachSeasonalBenefit",
        seasonId=season_id,
        benefitId=benefit_id,
        tierCodes=["gold"],
    )
    twice = await operation(
        marketer,
        "AttachSeasonalBenefit",
        seasonId=season_id,
        benefitId=benefit_id,
        tierCodes=["silver"],
    )
    seasonal = await operation(marketer, "SeasonalBenefits", seasonId=season_id)
    matrix = await operation(marketer, "TierBenefits")
    detached = await operation(
        marketer, "DetachSeasonalBenefit", seasonId=season_id, benefitId=benefit_id
    )
    archived = await operation(marketer, "ArchiveBenefit", id=benefit_id)
    catalogue = await operation(marketer, "BenefitsCatalogue")
    log = (await operation(client, "AuditLog"))["auditLog"]["edges"]

    assert created["benefit"]["kind"] == "POINTS_MULTIPLIER"
    assert updated["updateBenefit"]["benefit"]["value"] == {"factor": 3}
    assert matrix_set["setTierBenefits"]["tierBenefits"]["benefits"][0]["id"] == benefit_id
    assert attached["attachSeasonalBenefit"]["seasonalBenefit"]["tierCodes"] == ["gold"]
    assert twice["attachSeasonalBenefit"]["problems"][0]["field"] == "benefitId"
    assert [s["benefit"]["code"] for s in seasonal["seasonalBenefits"]] == ["double"]
    assert [
        (t["tierCode"], [b["code"] for b in t["benefits"]]) for t in matrix["tierBenefits"]
    ] == [
        ("member", []),
        ("silver", []),
        ("gold", ["double"]),
    ]
    assert detached["detachSeasonalBenefit"]["__typename"] == "SeasonalBenefitDetached"
    assert archived["archiveBenefit"]["benefit"]["archived"] is True
    assert catalogue["benefitsCatalogue"]["edges"] == []
    assert [e["node"]["action"] for e in log] == [
        "benefit.archive",
        "seasonal_benefit.detach",
        "seasonal_benefit.attach",
        "tier_benefits.set",
        "benefit.update",
        "benefit.create",
    ]
    assert {e["node"]["actor"] for e in log} == {"test-marketer"}


@pytest.mark.parametrize(
    ("kind", "value", "fields"),
    [
        ("DISCOUNT", {"percent": 150}, ["value.percent"]),
        ("DISCOUNT", {"percent": 10, "amount": 5}, ["value"]),
        ("POINTS_MULTIPLIER", {"factor": 1}, ["value.factor"]),
        ("FREE_SHIPPING", {"free": True}, ["value.free"]),
        ("BIRTHDAY_GIFT", {}, ["value.description"]),
        ("EXCLUSIVE_EVENT", {"name": "Gala"}, ["value.starts_at"]),
        ("COUPON", {"amount": 5}, ["value.code_prefix"]),
    ],
)
async def test_a_value_that_does_not_fit_its_kind_is_refused(marketer, kind, value, fields):
    result = (
        await operation(
            marketer,
            "CreateBenefit",
            input={"code": "perk", "name": "Perk", "kind": kind, "value": value},
        )
    )["createBenefit"]

    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == fields
    assert await Benefit.all().count() == 0 and await AuditEntry.all().count() == 0


async def test_a_member_sees_its_active_grants_and_uses_one_once(member_app, member):
    grant = await held(member)
    await held(member, "desk", valid_to=factories.now() - timedelta(minutes=1))
    member_id = encode_id("Member", member.id)

    active = (await operation(member_app, "MemberBenefits", id=member_id))["member"]["benefits"]
    used = (await operation(member_app, "UseBenefit", grantId=gid(grant)))["useBenefit"]
    again = (await operation(member_app, "UseBenefit", grantId=gid(grant)))["useBenefit"]
    after = (await operation(member_app, "MemberBenefits", id=member_id))["member"]["benefits"]
    history = await operation(member_app, "MemberBenefits", id=member_id, status=None)

    assert [(g["id"], g["kind"], g["source"], g["sourceRef"]) for g in active] == [
        (gid(grant), "FREE_SHIPPING", "TIER", "gold")
    ]
    assert used["__typename"] == "BenefitUsed"
    assert used["grant"]["status"] == "USED" and used["grant"]["usedAt"]
    assert again["__typename"] == "ValidationFailed"
    assert again["problems"] == [{"field": "grantId", "message": "has already been used"}]
    assert after == []
    assert [g["status"] for g in history["member"]["benefits"]] == ["USED", "EXPIRED"]
    assert await OutboxMessage.filter(topic="benefit.used").count() == 1


async def test_an_expired_grant_is_refused(member_app, member):
    grant = await held(member, valid_to=factories.now() - timedelta(minutes=1))

    result = (await operation(member_app, "UseBenefit", grantId=gid(grant)))["useBenefit"]

    assert result["problems"] == [{"field": "grantId", "message": "has expired"}]
    assert (await BenefitGrant.get(id=grant.id)).status is GrantStatus.ACTIVE


async def test_another_member_s_grant_is_not_found(member_app):
    other = await factories.member()
    grant = await held(other)

    result = (await operation(member_app, "UseBenefit", grantId=gid(grant)))["useBenefit"]
    malformed = (await operation(member_app, "UseBenefit", grantId="nope"))["useBenefit"]

    assert result["__typename"] == "NotFound"
    assert malformed["problems"][0]["field"] == "grantId"
    assert (await BenefitGrant.get(id=grant.id)).used_at is None
