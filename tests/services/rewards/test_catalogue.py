"""The rewards catalogue: validated and audited definitions, and what each member sees."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import AuditEntry, Member, Reward, Tier
from app.services.rewards.catalogue import (
    RewardDefinition,
    archive_reward,
    create_reward,
    rewards_page,
    update_reward,
)
from app.services.shared.audit import Actor
from app.services.shared.errors import InvalidInput, NotFound
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

MARKETER = Actor(subject="alice", role="marketer")


async def create(**overrides) -> Reward:
    fields = {"code": "coffee", "name": "Coffee", "points_cost": 120, "stock": 50} | overrides
    return await create_reward(
        definition=RewardDefinition(**fields), actor=MARKETER, now=factories.now()
    )


async def test_creating_a_reward_stores_it_and_audits_it():
    await factories.ladder()

    reward = await create(name="  Coffee  ", min_tier_rank=1)

    stored = await Reward.get(id=reward.id)
    assert (stored.name, stored.points_cost, stored.stock, stored.active) == (
        "Coffee",
        120,
        50,
        True,
    )
    entry = await AuditEntry.get(action="reward.create")
    assert (entry.actor, entry.target_type, entry.target_id) == ("alice", "Reward", str(reward.id))
    assert entry.before is None and entry.after["min_tier_rank"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "No Spaces!"}, "code"),
        ({"name": " "}, "name"),
        ({"points_cost": 0}, "pointsCost"),
        ({"stock": -1}, "stock"),
        ({"ends_at": factories.now() - timedelta(days=1), "starts_at": factories.now()}, "endsAt"),
        ({"min_tier_rank": 3}, "minTierRank"),
        ({"min_tier_rank": 2, "max_tier_rank": 1}, "maxTierRank"),
    ],
)
async def test_a_bad_reward_is_refused_and_nothing_is_written(overrides, field):
    await factories.ladder()

    with pytest.raises(InvalidInput) as refused:
        await create(**overrides)

    assert [p.field for p in refused.value.problems] == [field]
    assert await Reward.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_a_reward_code_is_unique():
    await create()
    with pytest.raises(InvalidInput) as refused:
        await create()
    assert refused.value.problems[0].field == "code"


async def test_updating_writes_only_the_given_fields_and_audits_before_and_after():
    await factories.ladder()
    reward = await create()
    # A redemption committed after the marketer opened the form must not be undone.
    await Reward.filter(id=reward.id).update(stock=49)

    updated = await update_reward(
        reward_id=reward.id, changes={"name": "Latte"}, actor=MARKETER, now=factories.now()
    )

    stored = await Reward.get(id=reward.id)
    assert (updated.name, stored.name, stored.stock) == ("Latte", "Latte", 49)
    entry = await AuditEntry.get(action="reward.update")
    assert (entry.before["name"], entry.after["name"]) == ("Coffee", "Latte")


async def test_an_update_is_checked_against_the_merged_definition():
    await factories.ladder()
    reward = await create(min_tier_rank=1)

    with pytest.raises(InvalidInput) as refused:
        await update_reward(
            reward_id=reward.id, changes={"max_tier_rank": 0}, actor=MARKETER, now=factories.now()
        )

    assert [p.field for p in refused.value.problems] == ["maxTierRank"]
    assert (await Reward.get(id=reward.id)).max_tier_rank is None


async def test_archiving_is_final_and_idempotent():
    reward = await create()

    await archive_reward(reward_id=reward.id, actor=MARKETER, now=factories.now())
    await archive_reward(reward_id=reward.id, actor=MARKETER, now=factories.now())

    assert (await Reward.get(id=reward.id)).archived_at is not None
    assert await AuditEntry.filter(action="reward.archive").count() == 1
    with pytest.raises(InvalidInput):
        await update_reward(
            reward_id=reward.id, changes={"stock": 5}, actor=MARKETER, now=factories.now()
        )
    with pytest.raises(NotFound):
        await archive_reward(reward_id=999_999, actor=MARKETER, now=factories.now())


async def test_a_member_sees_only_what_it_could_redeem_now_and_staff_see_everything():
    member = await factories.member()
    now = factories.now()
    visible = [
        await factories.reward(code="open"),
        await factories.reward(code="sold-out", stock=0),
        await factories.reward(
            code="windowed", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
        ),
        await factories.reward(code="base-only", max_tier_rank=0),
    ]
    hidden = [
        await factories.reward(code="paused", active=False),
        await factories.reward(code="archived", archived_at=now),
        await factories.reward(code="upcoming", starts_at=now + timedelta(days=1)),
        await factories.reward(code="over", ends_at=now),
        await factories.reward(code="gold-only", min_tier_rank=2),
    ]

    mine, _ = await rewards_page(first=50, after_id=None, now=now, member_id=member.id)
    staff, _ = await rewards_page(first=50, after_id=None, now=now)
    everything, _ = await rewards_page(first=50, after_id=None, now=now, include_archived=True)

    assert [r.code for r in mine] == [r.code for r in visible]
    assert len(staff) == len(visible) + len(hidden) - 1
    assert len(everything) == len(visible) + len(hidden)
    gold = await Tier.get(code="gold")
    await Member.filter(id=member.id).update(tier_id=gold.id)
    as_gold, _ = await rewards_page(first=50, after_id=None, now=now, member_id=member.id)
    assert [r.code for r in as_gold] == ["open", "sold-out", "windowed", "gold-only"]


async def test_the_catalogue_pages_in_order():
    for n in range(5):
        await factories.reward(code=f"r-{n}")

    first, more = await rewards_page(first=2, after_id=None, now=factories.now())
    rest, done = await rewards_page(first=5, after_id=first[-1].id, now=factories.now())

    assert more and not done
    assert [r.code for r in first + rest] == [f"r-{n}" for n in range(5)]
