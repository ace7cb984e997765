"""Coupon pools: codes generated or imported, one handed out per redemption and never twice,
an empty pool refusing (and telling the marketers once), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re

import pytest

from app.models import (
    AuditEntry,
    CouponCode,
    Member,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    Redemption,
    Reward,
)
from app.services.points.ledger import award_points, balance_mismatches
from app.services.rewards.coupons import (
    CouponsExhausted,
    codes_from_csv,
    coupon_pool,
    generate_coupons,
    import_coupons,
)
from app.services.rewards.redemptions import cancel_redemption, redeem_reward
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput
from gamification.points.ledger import LedgerKind
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

MARKETER = Actor(subject="marketer-1", role="marketer")


async def member_with(points: int) -> Member:
    member = await factories.member()
    await award_points(
        member_id=member.id,
        amount=points,
        reason="Welcome",
        idempotency_key=f"welcome-{member.id}",
        max_amount=1_000_000,
        now=factories.now(),
    )
    return member


async def coupon_reward(**overrides) -> Reward:
    return await factories.reward(issues_coupons=True, points_cost=100, **overrides)


async def redeem(member: Member, reward: Reward, key: str | None = None):
    return await redeem_reward(
        member_id=member.id, reward_id=reward.id, idempotency_key=key, now=factories.now()
    )


async def imported(reward: Reward, *codes: str):
    return await import_coupons(
        reward_id=reward.id, codes=codes, actor=MARKETER, now=factories.now()
    )


async def generated(reward: Reward, pattern: str, count: int):
    return await generate_coupons(
        reward_id=reward.id, pattern=pattern, count=count, actor=MARKETER, now=factories.now()
    )


async def test_generated_codes_follow_the_pattern_and_are_all_new():
    reward = await coupon_reward()
    await imported(reward, "SHOE-2345-ABCD")

    added = await generated(reward, "SHOE-####-????", 500)

    assert added.added == 500
    assert (added.pool.total, added.pool.remaining, added.pool.issued) == (501, 501, 0)
    codes = await CouponCode.filter(reward_id=reward.id).values_list("code", flat=True)
    assert len(set(codes)) == 501
    assert all(re.fullmatch(r"SHOE-[2-9]{4}-[A-HJ-NP-Z]{4}", code) for code in codes)
    audit = await AuditEntry.get(action="reward.coupons_generate")
    assert audit.after == {
        "total": 501,
        "remaining": 501,
        "pattern": "SHOE-####-????",
        "count": 500,
    }


@pytest.mark.parametrize(
    ("pattern", "count", "fields"),
    [
        ("SHOE-##", 1, ["pattern"]),  # fewer than 4 random characters
        ("shoe-####", 1, ["pattern"]),  # lower case is not a literal
        ("####", 1000, ["pattern"]),  # 4,096 codes cannot give 1,000 at random
        ("SHOE-####-????", 0, ["count"]),
    ],
)
async def test_a_bad_pattern_or_count_is_refused(pattern, count, fields):
    reward = await coupon_reward()

    with pytest.raises(InvalidInput) as refused:
        await generated(reward, pattern, count)

    assert [p.field for p in refused.value.problems] == fields
    assert await CouponCode.all().count() == 0


async def test_an_import_skips_codes_already_in_the_pool_so_a_second_run_adds_nothing():
    reward = await coupon_reward()
    codes = codes_from_csv("code\nAAA-1\nBBB-2\n\nAAA-1\nCCC-3\n")

    first = await imported(reward, *codes)
    again = await imported(reward, *codes)

    assert codes == ["AAA-1", "BBB-2", "AAA-1", "CCC-3"]
    assert (first.added, first.duplicates) == (3, 0)
    assert (again.added, again.duplicates) == (0, 3)
    assert (await coupon_pool(reward.id)).total == 3


def test_a_csv_with_bad_codes_names_their_lines():
    with pytest.raises(InvalidInput) as refused:
        codes_from_csv("code\nGOOD-1\nnot a code\n-starts-with-dash\n")

    assert [(p.field, p.message[:7]) for p in refused.value.problems] == [
        ("csv", "line 3:"),
        ("csv", "line 4:"),
    ]
    with pytest.raises(InvalidInput, match="holds no codes"):
        codes_from_csv("code\n\n")


async def test_a_redemption_hands_out_one_code_that_the_member_sees():
    member = await member_with(500)
    reward = await coupon_reward(name="Shoe voucher")
    await imported(reward, "FIRST-1", "SECOND-2")

    redeemed = await redeem(member, reward, key="tap")
    again = await redeem(member, reward, key="tap")

    assert redeemed.coupon_code == "FIRST-1"
    # A retry of the same redemption shows the same code and takes no other.
    assert again.replayed and again.coupon_code == "FIRST-1"
    pool = await coupon_pool(reward.id)
    assert (pool.total, pool.remaining, pool.issued) == (2, 1, 1)
    notice = await Notification.get(member_id=member.id, kind="reward_redeemed")
    assert "FIRST-1" in notice.body and notice.data["couponCode"] == "FIRST-1"
    outbox = await OutboxMessage.get(topic="reward.redeemed")
    assert outbox.payload["coupon_code"] == "FIRST-1"


async def test_an_empty_pool_refuses_spends_nothing_and_alerts_the_marketers_once():
    # Given a reward whose only code is taken
    reward = await coupon_reward(stock=10)
    await imported(reward, "ONLY-1")
    await redeem(await member_with(500), reward)
    late = await member_with(500)

    # When two more members try
    for member in (late, await member_with(500)):
        with pytest.raises(CouponsExhausted):
            await redeem(member, reward)

    # Then nothing was spent, and the marketers were told once
    assert (await Member.get(id=late.id)).points_balance == 500
    assert (await Reward.get(id=reward.id)).stock == 9
    assert await Redemption.filter(reward_id=reward.id).count() == 1
    alerts = await OutboxMessage.filter(topic="reward.coupons_exhausted")
    assert [a.payload for a in alerts] == [
        {"reward_id": reward.id, "reward_code": reward.code, "issued": 1}
    ]
    assert await AuditEntry.filter(action="reward.coupons_exhausted").count() == 1
    assert (await Reward.get(id=reward.id)).coupons_exhausted_at is not None

    # And new codes re-arm the alert for the next time the pool runs dry
    await imported(reward, "MORE-1")
    assert (await Reward.get(id=reward.id)).coupons_exhausted_at is None
    await redeem(late, reward)
    with pytest.raises(CouponsExhausted):
        await redeem(late, reward)
    assert await OutboxMessage.filter(topic="reward.coupons_exhausted").count() == 2


async def test_a_reward_without_a_pool_hands_out_no_code():
    member = await member_with(500)
    reward = await factories.reward(points_cost=100)

    redeemed = await redeem(member, reward)

    assert redeemed.coupon_code is None and redeemed.redemption.coupon_id is None


async def test_a_cancelled_redemption_keeps_its_code_issued():
    member = await member_with(500)
    reward = await coupon_reward(cancel_window_hours=24)
    await imported(reward, "SEEN-1", "FRESH-2")
    redeemed = await redeem(member, reward)

    await cancel_redemption(
        redemption_id=redeemed.redemption.id, reason="Return", actor=None, now=factories.now()
    )
    again = await redeem(member, reward)

    # The member has seen the first code: it may have been used, so it is not handed out again.
    assert (redeemed.coupon_code, again.coupon_code) == ("SEEN-1", "FRESH-2")
    assert (await coupon_pool(reward.id)).remaining == 0


async def test_200_concurrent_redemptions_of_150_codes_hand_out_each_once():
    # Given 150 codes and 200 members with points enough
    reward = await coupon_reward()
    await generated(reward, "SHOE-####-????", 150)
    members = [await member_with(100) for _ in range(200)]

    # When they all redeem at once
    outcomes = await asyncio.gather(*(redeem(m, reward) for m in members), return_exceptions=True)

    # Then 150 get a code each, all different, and 50 hear the pool is empty
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 150
    assert all(isinstance(o, CouponsExhausted) for o in lost) and len(lost) == 50, lost
    assert len({o.coupon_code for o in won}) == 150
    assert None not in {o.coupon_code for o in won}
    pool = await coupon_pool(reward.id)
    assert (pool.total, pool.remaining) == (150, 0)
    assert await Redemption.filter(reward_id=reward.id, coupon_id__isnull=False).count() == 150
    assert await PointsLedgerEntry.filter(kind=LedgerKind.SPEND).count() == 150
    assert await OutboxMessage.filter(topic="reward.coupons_exhausted").count() == 1
    assert await balance_mismatches() == []
