"""Enrolling members, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from app.models import Member, TierChange, TierChangeReason
from app.services.members.enrollment import enroll_member, members_page
from app.services.shared.errors import InvalidInput, ProgrammeNotConfigured
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")


async def enroll(**fields):
    args = {"external_id": "crm-1", "display_name": "Ada Lovelace"} | fields
    return await enroll_member(now=factories.now(), zone=factories.ZONE, **args)


async def test_a_new_member_starts_on_the_base_tier_with_nothing():
    await factories.ladder()

    enrollment = await enroll(display_name="  Ada Lovelace ", birthday=date(1990, 2, 3))

    member = await Member.get(id=enrollment.member.id).prefetch_related("tier")
    assert enrollment.created
    assert member.display_name == "Ada Lovelace"
    assert member.tier.code == "member"
    assert (member.points_balance, member.growth, member.lifetime_points) == (0, 0, 0)
    change = await TierChange.get(member_id=member.id)
    assert change.reason is TierChangeReason.ENROLLMENT
    assert change.from_tier_id is None and change.to_tier_id == member.tier_id


async def test_enrolling_again_returns_the_same_member_unchanged():
    await factories.ladder()
    first = await enroll()

    again = await enroll(display_name="Someone Else")

    assert not again.created
    assert again.member.id == first.member.id
    assert again.member.display_name == "Ada Lovelace"
    assert await Member.all().count() == 1
    assert await TierChange.all().count() == 1


async def test_concurrent_enrollments_of_one_external_id_create_one_member():
    await factories.ladder()

    results = await asyncio.gather(*(enroll() for _ in range(10)))

    assert len({r.member.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await Member.all().count() == 1


async def test_a_bad_enrollment_is_refused_and_writes_nothing():
    await factories.ladder()
    with pytest.raises(InvalidInput) as refused:
        await enroll(display_name="", birthday=date.today() + timedelta(days=2))
    assert [p.field for p in refused.value.problems] == ["displayName", "birthday"]
    assert await Member.all().count() == 0


async def test_enrolling_before_any_ladder_is_published_is_a_clear_error():
    with pytest.raises(ProgrammeNotConfigured, match="publish a ladder"):
        await enroll()
    assert await Member.all().count() == 0


async def test_members_page_through_in_enrollment_order():
    made = [await factories.member() for _ in range(5)]

    page1, more1 = await members_page(first=2, after_id=None)
    page2, more2 = await members_page(first=2, after_id=page1[-1].id)
    page3, more3 = await members_page(first=2, after_id=page2[-1].id)

    assert [m.id for m in page1 + page2 + page3] == [m.id for m in made]
    assert (more1, more2, more3) == (True, True, False)
