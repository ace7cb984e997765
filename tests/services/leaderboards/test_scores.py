"""Leaderboard scores move with the engine's outcomes, in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import LeaderboardScore, OutboxMessage, Season
from app.services.activity.reversals import reverse_event
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")


async def scores(member) -> dict[tuple[str, str], int]:
    rows = await LeaderboardScore.filter(member_id=member.id)
    return {(r.metric, r.period_key): r.score for r in rows}


async def test_an_event_moves_every_metric_in_every_period_it_counts_in():
    member = await factories.member()
    await factories.task(code="visit", reward_points=10, reward_growth=5)
    summer = await Season.create(
        code="summer",
        name="Summer",
        starts_at=factories.now() - timedelta(days=1),
        ends_at=factories.now() + timedelta(days=1),
    )
    recorded = await factories.event(member, "check_in", at=factories.now())
    points, growth = recorded.outcome["points"], recorded.outcome["growth"]

    got = await scores(member)
    local = factories.now().astimezone(factories.ZONE).date()
    iso = local.isocalendar()
    periods = [
        "lifetime",
        f"day:{local.isoformat()}",
        f"week:{iso.year:04d}-W{iso.week:02d}",
        f"month:{local.year:04d}-{local.month:02d}",
        f"season:{summer.id}",
    ]
    assert got == {
        **{("points_earned", p): points for p in periods},
        **{("growth", p): growth for p in periods},
        **{("tasks_completed", p): 1 for p in periods},
    }
    message = await OutboxMessage.get(topic="event.recorded")
    assert sorted(map(tuple, message.payload["scores"])) == sorted(got)
    assert {r.reached_seq for r in await LeaderboardScore.all()} == {message.id}


async def test_a_replayed_event_moves_nothing_more():
    member = await factories.member()
    at = factories.now()
    await factories.event(member, "purchase", amount="30", key="order-7", at=at)
    before = await scores(member)
    await factories.event(member, "purchase", amount="30", key="order-7", at=at)
    assert await scores(member) == before


async def test_a_reversal_takes_back_from_the_periods_of_its_event():
    last_month = factories.now() - timedelta(days=20)
    member = await factories.member(joined_at=last_month - timedelta(days=1))
    await factories.event(member, "purchase", amount="100", key="order-1", at=last_month)
    earned = await scores(member)
    await reverse_event(
        idempotency_key="order-1",
        reason="returned",
        allow_debt=False,
        zone=factories.ZONE,
        now=factories.now(),
    )
    after = await scores(member)
    assert set(after) == set(earned)  # no new periods (not today's, not this month's)
    assert all(after[k] == 0 for k in after if k[0] != "tasks_completed")
