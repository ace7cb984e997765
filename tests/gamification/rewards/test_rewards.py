"""Reward rules: valid definitions, and who may redeem what when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gamification.rewards import RewardRule, Unavailable, check_reward, why_unavailable

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


def check(**overrides):
    fields = {
        "code": "mug",
        "name": "Mug",
        "description": "",
        "points_cost": 500,
        "stock": 10,
        "starts_at": None,
        "ends_at": None,
        "min_tier_rank": None,
        "max_tier_rank": None,
        "tier_count": 3,
    } | overrides
    return [p.field for p in check_reward(**fields)]


def test_a_plain_reward_is_valid_and_stock_may_be_zero_or_unlimited():
    assert check() == []
    assert check(stock=0) == []
    assert check(stock=None) == []


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"points_cost": 0}, ["pointsCost"]),
        ({"points_cost": 10_000_001}, ["pointsCost"]),
        ({"stock": -1}, ["stock"]),
        ({"starts_at": NOW.replace(tzinfo=None)}, ["startsAt"]),
        ({"starts_at": NOW, "ends_at": NOW}, ["endsAt"]),
        ({"min_tier_rank": -1}, ["minTierRank"]),
        ({"max_tier_rank": 3}, ["maxTierRank"]),
        ({"min_tier_rank": 2, "max_tier_rank": 1}, ["maxTierRank"]),
        ({"code": "", "name": "", "points_cost": -5}, ["code", "name", "pointsCost"]),
    ],
)
def test_bad_definitions_name_every_field_at_fault(overrides, fields):
    assert check(**overrides) == fields


@pytest.mark.parametrize(
    ("rule", "rank", "expected"),
    [
        (RewardRule("a", "A", 10), 0, None),
        (RewardRule("a", "A", 10, active=False), 0, Unavailable.WITHDRAWN),
        (RewardRule("a", "A", 10, archived=True), 0, Unavailable.WITHDRAWN),
        (RewardRule("a", "A", 10, starts_at=NOW + timedelta(seconds=1)), 0, Unavailable.NOT_YET),
        (RewardRule("a", "A", 10, starts_at=NOW), 0, None),
        (RewardRule("a", "A", 10, ends_at=NOW), 0, Unavailable.ENDED),
        (RewardRule("a", "A", 10, ends_at=NOW + timedelta(seconds=1)), 0, None),
        (RewardRule("a", "A", 10, min_tier_rank=1), 0, Unavailable.TIER),
        (RewardRule("a", "A", 10, min_tier_rank=1), 1, None),
        (RewardRule("a", "A", 10, max_tier_rank=1), 2, Unavailable.TIER),
    ],
)
def test_who_may_redeem_when(rule, rank, expected):
    assert why_unavailable(rule, tier_rank=rank, now=NOW) is expected
