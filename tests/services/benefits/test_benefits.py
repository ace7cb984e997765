"""The benefits catalogue, its matrices and members' grants, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from app.models import AuditEntry, Benefit, BenefitGrant, Season, SeasonalBenefit, TierBenefit
from app.services.benefits import catalogue as benefits
from app.services.benefits import grants as benefit_grants
from app.services.benefits.catalogue import BenefitDefinition
from app.services.benefits.grants import BenefitUnusable, MemberGrants
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput, NotFound
from gamification.benefits import BenefitKind, GrantSource, GrantStatus, Unusable
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

ACTOR = Actor(subject="test-marketer", role="marketer")
HOUR = timedelta(hours=1)


async def benefit(code: str, kind=BenefitKind.FREE_SHIPPING, value=None, **fields) -> Benefit:
    return await Benefit.create(
        code=code, name=code.title(), kind=kind, value=value or {}, **fields
    )


async def grant(member, perk: Benefit, **fields) -> BenefitGrant:
    values = {
        "source": GrantSource.MANUAL,
        "source_ref": "test",
        "valid_from": factories.now() - HOUR,
    } | fields
    return await BenefitGrant.create(member=member, benefit=perk, **values)


async def test_a_benefit_is_created_with_its_value_and_audited():
    created = await benefits.create_benefit(
        definition=BenefitDefinition(
            code="gold-coupon",
            name=" Gold coupon ",
            kind=BenefitKind.COUPON,
            value={"code_prefix": "GOLD", "amount": 20},
        ),
        actor=ACTOR,
        now=factories.now(),
    )

    stored = await Benefit.get(id=created.id)
    entry = await AuditEntry.get(action="benefit.create")
    assert (stored.name, stored.kind, stored.value) == (
        "Gold coupon",
        BenefitKind.COUPON,
        {"code_prefix": "GOLD", "amount": 20},
    )
    assert entry.target_id == str(created.id) and entry.after["kind"] == "coupon"


async def test_an_update_checks_the_kind_and_value_together():
    perk = await benefit("ten-off", BenefitKind.DISCOUNT, {"percent": 10})

    with pytest.raises(InvalidInput) as refused:
        await benefits.update_benefit(
            benefit_id=perk.id,
            changes={"kind": BenefitKind.POINTS_MULTIPLIER},
            actor=ACTOR,
            now=factories.now(),
        )
    changed = await benefits.update_benefit(
        benefit_id=perk.id,
        changes={"kind": BenefitKind.POINTS_MULTIPLIER, "value": {"factor": 2}},
        actor=ACTOR,
        now=factories.now(),
    )

    assert [p.field for p in refused.value.problems] == ["value.percent", "value.factor"]
    assert changed.value == {"factor": 2}
    assert await AuditEntry.filter(action="benefit.update").count() == 1


async def test_setting_a_tier_s_benefits_replaces_its_set():
    await factories.ladder()
    for code in ("a", "b", "c"):
        await benefit(f"perk-{code}")
    await TierBenefit.create(tier_code="silver", benefit=await Benefit.get(code="perk-a"))

    first = await benefits.set_tier_benefits(
        tier_code="gold", benefit_codes=["perk-a", "perk-b"], actor=ACTOR, now=factories.now()
    )
    second = await benefits.set_tier_benefits(
        tier_code="gold",
        benefit_codes=["perk-b", "perk-c", "perk-c"],
        actor=ACTOR,
        now=factories.now(),
    )

    rows = await TierBenefit.filter(tier_code="gold").values_list("benefit__code", flat=True)
    matrix = await benefits.tier_benefits(now=factories.now())
    audits = await AuditEntry.filter(action="tier_benefits.set").order_by("id")
    assert [b.code for b in first.benefits] == ["perk-a", "perk-b"]
    assert [b.code for b in second.benefits] == ["perk-b", "perk-c"]
    assert sorted(rows) == ["perk-b", "perk-c"]
    assert [(m.tier_code, [b.code for b in m.benefits]) for m in matrix] == [
        ("member", []),
        ("silver", ["perk-a"]),
        ("gold", ["perk-b", "perk-c"]),
    ]
    assert (audits[1].before, audits[1].after) == (
        {"benefits": ["perk-a", "perk-b"]},
        {"benefits": ["perk-b", "perk-c"]},
    )


async def test_a_tier_matrix_refuses_unknown_tiers_and_benefits_and_changes_nothing():
    await factories.ladder()
    await benefit("gone", archived_at=factories.now())

    with pytest.raises(InvalidInput) as no_tier:
        await benefits.set_tier_benefits(
            tier_code="diamond", benefit_codes=[], actor=ACTOR, now=factories.now()
        )
    with pytest.raises(InvalidInput) as no_benefit:
        await benefits.set_tier_benefits(
            tier_code="gold", benefit_codes=["gone", "never"], actor=ACTOR, now=factories.now()
        )

    assert no_tier.value.problems[0].field == "tierCode"
    assert no_benefit.value.problems[0].field == "benefitCodes"
    assert "gone, never" in no_benefit.value.problems[0].message
    assert await TierBenefit.all().count() == 0 and await AuditEntry.all().count() == 0


async def test_a_benefit_is_attached_to_a_season_once():
    await factories.ladder()
    season = await Season.create(
        code="spring",
        name="Spring",
        starts_at=factories.now(),
        ends_at=factories.now() + timedelta(days=14),
    )
    perk = await benefit("double", BenefitKind.POINTS_MULTIPLIER, {"factor": 2})

    attached = await benefits.attach_seasonal_benefit(
        season_id=season.id,
        benefit_id=perk.id,
        tier_codes=["gold", "silver", "gold"],
        actor=ACTOR,
        now=factories.now(),
    )
    with pytest.raises(InvalidInput) as again:
        await benefits.attach_seasonal_benefit(
            season_id=season.id,
            benefit_id=perk.id,
            tier_codes=["gold"],
            actor=ACTOR,
            now=factories.now(),
        )
    with pytest.raises(InvalidInput) as unknown_tier:
        await benefits.attach_seasonal_benefit(
            season_id=season.id,
            benefit_id=perk.id,
            tier_codes=["bronze"],
            actor=ACTOR,
            now=factories.now(),
        )
    detached = await benefits.detach_seasonal_benefit(
        season_id=season.id, benefit_id=perk.id, actor=ACTOR, now=factories.now()
    )
    with pytest.raises(NotFound):
        await benefits.detach_seasonal_benefit(
            season_id=season.id, benefit_id=perk.id, actor=ACTOR, now=factories.now()
        )

    assert attached.tier_codes == ["gold", "silver"]
    assert again.value.problems[0].field == "benefitId"
    assert unknown_tier.value.problems[0].field == "tierCodes"
    assert detached.benefit.code == "double"
    assert await SeasonalBenefit.all().count() == 0
    actions = await AuditEntry.all().order_by("id").values_list("action", flat=True)
    assert actions == ["seasonal_benefit.attach", "seasonal_benefit.detach"]


async def test_granting_a_tier_s_benefits_twice_grants_them_once():
    member = await factories.member()
    for code in ("ship", "desk", "old"):
        await TierBenefit.create(tier_code="gold", benefit=await benefit(code))
    await TierBenefit.create(tier_code="silver", benefit=await benefit("silver-only"))
    await Benefit.filter(code="old").update(archived_at=factories.now())
    now = factories.now()

    async with in_transaction() as conn:
        first = await benefit_grants.grant_tier_benefits(
            conn, member_id=member.id, tier_code="gold", now=now
        )
    async with in_transaction() as conn:
        again = await benefit_grants.grant_tier_benefits(
            conn, member_id=member.id, tier_code="gold", now=now
        )

    grants = await BenefitGrant.filter(member_id=member.id).select_related("benefit")
    assert (first, again) == (2, 0)
    assert sorted(g.benefit.code for g in grants) == ["desk", "ship"]
    assert {(g.source, g.source_ref, g.status, g.valid_to) for g in grants} == {
        (GrantSource.TIER, "gold", GrantStatus.ACTIVE, None)
    }


async def test_a_grant_is_used_once():
    member = await factories.member()
    held = await grant(member, await benefit("ship"))

    used = await benefit_grants.use_benefit(
        member_id=member.id, grant_id=held.id, now=factories.now()
    )
    with pytest.raises(BenefitUnusable) as again:
        await benefit_grants.use_benefit(member_id=member.id, grant_id=held.id, now=factories.now())

    assert used.status is GrantStatus.USED and used.used_at is not None
    assert again.value.reason is Unusable.USED
    assert again.value.problems[0].field == "grantId"


async def test_concurrent_uses_of_one_grant_succeed_once():
    member = await factories.member()
    held = await grant(member, await benefit("ship"))

    outcomes = await asyncio.gather(
        *(
            benefit_grants.use_benefit(member_id=member.id, grant_id=held.id, now=factories.now())
            for _ in range(10)
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(o, BenefitGrant) for o in outcomes) == 1
    assert all(isinstance(o, (BenefitGrant, BenefitUnusable)) for o in outcomes), outcomes


@pytest.mark.parametrize(
    ("window", "reason"),
    [
        ({"valid_to": factories.now() - timedelta(minutes=1)}, Unusable.EXPIRED),
        ({"status": GrantStatus.EXPIRED}, Unusable.EXPIRED),
        ({"valid_from": factories.now() + timedelta(days=1)}, Unusable.NOT_YET),
    ],
)
async def test_a_grant_outside_its_window_is_refused_and_stays_active(window, reason):
    member = await factories.member()
    held = await grant(member, await benefit("ship"), **window)

    with pytest.raises(BenefitUnusable) as refused:
        await benefit_grants.use_benefit(member_id=member.id, grant_id=held.id, now=factories.now())

    assert refused.value.reason is reason
    assert (await BenefitGrant.get(id=held.id)).used_at is None


async def test_another_member_s_grant_is_not_found_and_unused():
    owner = await factories.member()
    other = await factories.member()
    held = await grant(owner, await benefit("ship"))

    with pytest.raises(NotFound):
        await benefit_grants.use_benefit(member_id=other.id, grant_id=held.id, now=factories.now())

    assert (await BenefitGrant.get(id=held.id)).status is GrantStatus.ACTIVE


async def test_grants_are_read_by_status_as_members_see_it():
    member = await factories.member()
    now = factories.now()
    ship = await grant(member, await benefit("ship"))
    ended = await grant(member, await benefit("desk"), valid_to=now - HOUR)
    used = await grant(member, await benefit("gift"), status=GrantStatus.USED, used_at=now)

    keys = [MemberGrants(member.id, s) for s in (*GrantStatus, None)]
    found = await benefit_grants.grants_by_member(keys=keys, now=now)

    assert [[g.id for g in found[k]] for k in keys] == [
        [ship.id],
        [used.id],
        [ended.id],
        [ship.id, ended.id, used.id],
    ]
