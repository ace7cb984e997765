"""Members move to the ladder version in force when it takes effect, by rank, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.models import Member, OutboxMessage, Tier, TierChange, TierChangeReason
from app.services.tiers.ladder import publish_ladder
from app.services.tiers.switch import switch_members_to_ladder_in_force
from gamification.tiers.ladder import TierRule
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")

SMALLER = (
    TierRule("base", "Base", 0, 0, 0, Decimal("1.00")),
    TierRule("star", "Star", 1, 2_000, 1_500, Decimal("1.20")),
)


async def tier_of(member: Member) -> Tier:
    member = await Member.get(id=member.id)
    return await Tier.get(id=member.tier_id).prefetch_related("ladder_version")


async def test_members_move_to_the_same_rank_of_the_version_in_force(settings):
    await factories.task(code="big", reward_growth=6_000)  # a check-in promotes to Gold
    plain, gold = await factories.member(), await factories.member()
    await factories.event(gold, "check_in")
    assert (await tier_of(gold)).code == "gold"
    later = factories.now() + timedelta(days=20)
    version = await publish_ladder(tiers=SMALLER, effective_at=later, now=factories.now())

    # Not yet in force: nobody moves.
    assert await switch_members_to_ladder_in_force(now=factories.now()) == {
        "moved": 0,
        "changed_rank": 0,
    }
    result = await switch_members_to_ladder_in_force(now=later + timedelta(minutes=1))
    assert result == {"moved": 2, "changed_rank": 1}
    assert ((await tier_of(plain)).code, (await tier_of(gold)).code) == ("base", "star")
    assert {(await tier_of(m)).ladder_version_id for m in (plain, gold)} == {version.id}
    change = await TierChange.get(member_id=gold.id, reason=TierChangeReason.LADDER_CHANGE)
    assert change.ladder_version_id == version.id

    # Done once: a re-run moves nobody and records nothing more.
    again = await switch_members_to_ladder_in_force(now=later + timedelta(minutes=2))
    assert again == {"moved": 0, "changed_rank": 0}
    assert await TierChange.filter(reason=TierChangeReason.LADDER_CHANGE).count() == 1


async def test_tier_boards_are_told_to_reread_their_members(settings):
    from app.models import Leaderboard
    from gamification.leaderboards import Metric, Period

    await factories.member()
    board = await Leaderboard.create(
        code="silver-only",
        name="Silver",
        metric=Metric.GROWTH,
        period=Period.ALL_TIME,
        tier_code="silver",
        created_at=factories.now(),
        updated_at=factories.now(),
    )
    later = factories.now() + timedelta(days=20)
    await publish_ladder(tiers=SMALLER, effective_at=later, now=factories.now())
    await switch_members_to_ladder_in_force(now=later)
    message = await OutboxMessage.get(topic="leaderboard.changed")
    assert message.payload == {"board_id": board.id}
