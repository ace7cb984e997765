"""The ladder rules: validation, placement and progress (pure, no database)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.tiers.ladder import (
    InvalidLadder,
    TierRule,
    tier_for_growth,
    tier_progress,
    validate_ladder,
)

MEMBER = TierRule("member", "Member", 0, 0, 0, Decimal("1"))
SILVER = TierRule("silver", "Silver", 1, 1000, 800, Decimal("1.1"))
GOLD = TierRule("gold", "Gold", 2, 5000, 4000, Decimal("1.25"))


def test_a_valid_ladder_comes_back_ordered_by_rank():
    assert validate_ladder([GOLD, MEMBER, SILVER]) == (MEMBER, SILVER, GOLD)


@pytest.mark.parametrize(
    ("tiers", "complaint"),
    [
        ([], "at least one tier"),
        ([MEMBER, GOLD], "without gaps"),
        ([MEMBER, replace(SILVER, rank=0)], "without gaps"),
        ([MEMBER, replace(SILVER, code="member")], "codes must be unique"),
        ([MEMBER, replace(SILVER, name=" ")], "every tier needs a name"),
        ([replace(MEMBER, entry_threshold=10)], "entry and retention 0"),
        ([MEMBER, replace(SILVER, entry_threshold=0, retention_threshold=0)], "more growth"),
        ([MEMBER, SILVER, replace(GOLD, retention_threshold=5001)], "retention threshold"),
        ([MEMBER, SILVER, replace(GOLD, retention_threshold=900)], "retention threshold"),
        ([MEMBER, replace(SILVER, multiplier=Decimal(0))], "multiplier"),
        ([MEMBER, replace(SILVER, multiplier=Decimal(11))], "multiplier"),
    ],
)
def test_an_invalid_ladder_is_refused_with_the_reason(tiers, complaint):
    with pytest.raises(InvalidLadder, match=complaint):
        validate_ladder(tiers)


@st.composite
def ladders(draw: st.DrawFn) -> tuple[TierRule, ...]:
    steps = draw(st.lists(st.integers(1, 10_000), min_size=0, max_size=5))
    tiers = [MEMBER]
    entry = 0
    for rank, step in enumerate(steps, start=1):
        lower = entry
        entry += step
        retention = draw(st.integers(lower, entry))
        tiers.append(TierRule(f"t{rank}", f"T{rank}", rank, entry, retention, Decimal("1")))
    return validate_ladder(tiers)


@given(ladders(), st.integers(0, 100_000), st.integers(0, 100_000))
def test_more_growth_never_places_a_member_lower(ladder, a, b):
    low, high = sorted((a, b))
    assert tier_for_growth(ladder, low).rank <= tier_for_growth(ladder, high).rank


@given(ladders(), st.integers(0, 100_000))
def test_the_tier_for_growth_is_the_highest_whose_entry_is_reached(ladder, growth):
    tier = tier_for_growth(ladder, growth)
    assert growth >= tier.entry_threshold
    above = [t for t in ladder if t.rank == tier.rank + 1]
    assert not above or growth < above[0].entry_threshold


@given(ladders(), st.integers(0, 100_000))
def test_progress_is_a_percentage_and_counts_down_to_the_next_entry(ladder, growth):
    current = tier_for_growth(ladder, growth)
    progress = tier_progress(ladder, current=current, growth=growth)
    assert 0.0 <= progress.percent <= 100.0
    if progress.next is None:
        assert current.rank == len(ladder) - 1
        assert progress.growth_needed == 0
    else:
        assert progress.growth + progress.growth_needed == progress.next.entry_threshold


def test_progress_reads_as_a_member_would_expect():
    progress = tier_progress((MEMBER, SILVER, GOLD), current=SILVER, growth=3000)
    assert progress.next == GOLD
    assert progress.growth_needed == 2000
    assert progress.percent == 50.0


def test_status_shows_the_next_evaluation_and_the_gap_to_keep_the_tier():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from gamification.tiers.ladder import tier_status

    shanghai = ZoneInfo("Asia/Shanghai")
    # 2026-11-30 20:00 UTC is already 1 December 04:00 in Shanghai: past this month's run.
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)

    status = tier_status(
        (MEMBER, SILVER, GOLD),
        current=SILVER,
        growth=700,
        now=now,
        zone=shanghai,
        evaluation_day_of_month=1,
    )

    assert status.next_evaluation_at == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert status.at_risk and status.retention_gap == 100  # 800 keeps Silver
    safe = tier_status(
        (MEMBER, SILVER, GOLD),
        current=SILVER,
        growth=800,
        now=now,
        zone=shanghai,
        evaluation_day_of_month=1,
    )
    assert not safe.at_risk and safe.retention_gap == 0


def test_evaluation_days_past_a_months_end_mean_its_last_day():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from gamification.tiers.ladder import next_evaluation_at

    utc = ZoneInfo("UTC")
    feb = datetime(2027, 2, 10, tzinfo=UTC)
    assert next_evaluation_at(now=feb, zone=utc, day_of_month=31) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="1 to 31"):
        next_evaluation_at(now=feb, zone=utc, day_of_month=32)
