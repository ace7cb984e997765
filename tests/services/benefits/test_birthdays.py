"""Birthday gifts: granted on the member's local birthday, once a year."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.models import Benefit, BenefitGrant, OutboxMessage, TierBenefit
from app.services.benefits.birthdays import celebrated_days
from app.services.jobs.schedule import JOBS, run_job
from app.services.members.lifecycle import deactivate_member
from app.services.shared.audit import Actor
from gamification.benefits import BenefitKind, GrantSource
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
# 00:30 on 26 November in Shanghai, still the 25th in UTC.
AT = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)


async def gift() -> Benefit:
    benefit = await Benefit.create(
        code="cake",
        name="Birthday cake",
        kind=BenefitKind.BIRTHDAY_GIFT,
        value={"description": "A cake on us"},
    )
    await TierBenefit.create(tier_code="member", benefit=benefit)
    return benefit


async def test_members_get_their_tiers_gift_on_their_local_birthday(settings):
    cake = await gift()
    today = await factories.member(birthday=date(1990, 11, 26))
    utc_today = await factories.member(birthday=date(1990, 11, 25))
    await factories.member(birthday=None)

    result = await run_job(JOBS["birthday_gifts"], settings=settings, clock=lambda: AT)

    assert result == {"granted": 1}
    grant = await BenefitGrant.get(member_id=today.id)
    assert (grant.benefit_id, grant.source, grant.source_ref) == (
        cake.id,
        GrantSource.BIRTHDAY,
        "2026",
    )
    assert (grant.valid_to - grant.valid_from).days == settings.birthday_gift_days
    assert not await BenefitGrant.exists(member_id=utc_today.id)
    told = await OutboxMessage.get(topic="benefits.granted")
    assert told.payload["member_id"] == today.id


async def test_a_deactivated_member_gets_no_gift_while_inactive(settings):
    await gift()
    inactive = await factories.member(birthday=date(1990, 11, 26))
    await deactivate_member(
        member_id=inactive.id,
        reason="Closed",
        actor=Actor(subject="test-admin", role="admin"),
        now=factories.now(),
    )

    result = await run_job(JOBS["birthday_gifts"], settings=settings, clock=lambda: AT)

    assert result == {"granted": 0}
    assert not await BenefitGrant.exists(member_id=inactive.id)


async def test_a_rerun_grants_nothing_twice(settings):
    await gift()
    await factories.member(birthday=date(1990, 11, 26))
    await run_job(JOBS["birthday_gifts"], settings=settings, clock=lambda: AT, slot="a")
    again = await run_job(JOBS["birthday_gifts"], settings=settings, clock=lambda: AT, slot="b")
    assert again == {"granted": 0}
    assert await BenefitGrant.all().count() == 1


def test_leap_day_birthdays_are_celebrated_on_the_28th_in_other_years():
    assert celebrated_days(date(2027, 2, 28)) == ["02-28", "02-29"]
    assert celebrated_days(date(2028, 2, 28)) == ["02-28"]
    assert celebrated_days(date(2028, 2, 29)) == ["02-29"]
