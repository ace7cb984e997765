"""Threshold calibration and the ladder what-if rules (pure, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.tiers.calibration import (
    InvalidShares,
    check_shares,
    friendly_number,
    suggest_thresholds,
)
from gamification.tiers.ladder import TierRule
from gamification.tiers.simulation import (
    HeldTier,
    MemberGroup,
    settled_rank,
    summarise,
    switched_rank,
)

# Ten members with growth 100, 200, ..., 1000.
TEN = [(100 * i, 1) for i in range(1, 11)]


def test_the_threshold_is_the_smallest_growth_at_which_at_most_the_share_qualifies():
    # Given ten members 100 apart, when 40% and 10% should qualify,
    found = suggest_thresholds(histogram=TEN, shares=[0.4, 0.1], tiers_above_base=2)
    # then 4 members (700..1000) qualify from 601 on and 1 member from 901 on.
    assert found.active_members == 10
    assert [(s.threshold, s.members, s.share) for s in found.suggestions] == [
        (601, 4, 0.4),
        (901, 1, 0.1),
    ]
    # Rounded (step 50): 601 -> 600, 901 -> 900; one more
    # member qualifies at each, and the shares say so.
    assert [(s.friendly_threshold, s.friendly_members) for s in found.suggestions] == [
        (600, 5),
        (900, 2),
    ]
    assert found.suggestions[0].friendly_share == 0.5


def test_a_crowd_on_one_value_gives_equal_thresholds_and_honest_shares():
    # 90 members at 0, 10 at 500: no threshold lets between 1 and 9 members in.
    found = suggest_thresholds(
        histogram=[(0, 90), (500, 10)], shares=[0.3, 0.05], tiers_above_base=2
    )
    assert [(s.threshold, s.members) for s in found.suggestions] == [(1, 10), (501, 0)]


def test_no_active_members_no_suggestions():
    found = suggest_thresholds(histogram=[], shares=[0.3], tiers_above_base=2)
    assert found.active_members == 0 and found.suggestions == ()


def test_the_share_as_written_counts_not_the_float_below_it():
    # 0.3 of 10 is 3 members, although the float 0.3 is a hair below 3/10.
    found = suggest_thresholds(histogram=TEN, shares=[0.3], tiers_above_base=1)
    assert found.suggestions[0].members == 3


@pytest.mark.parametrize(
    ("shares", "complaint"),
    [
        ([], "at least one"),
        ([0.5, 0.3, 0.1], "at most 2"),
        ([0.0], "strictly between 0 and 1"),
        ([1.0], "strictly between 0 and 1"),
        ([float("nan")], "strictly between 0 and 1"),
        ([0.2, 0.3], "strictly decreasing"),
        ([0.2, 0.2], "strictly decreasing"),
    ],
)
def test_bad_shares_are_refused_with_the_reason(shares, complaint):
    with pytest.raises(InvalidShares, match=complaint):
        check_shares(shares, tiers_above_base=2)


@pytest.mark.parametrize(
    ("value", "friendly"),
    [
        (0, 0),
        (7, 7),
        (19, 19),
        (20, 20),
        (21, 22),
        (87, 85),
        (99, 100),
        (101, 100),
        (1_234, 1_200),
        (1_876, 1_900),
        (2_345, 2_400),
        (5_678, 5_500),
        (98_765, 100_000),
    ],
)
def test_friendly_numbers(value, friendly):
    assert friendly_number(value) == friendly


@given(st.integers(1, 10**12))
def test_rounding_stays_within_five_percent_on_two_significant_digits(value):
    friendly = friendly_number(value)
    assert abs(friendly - value) * 20 <= value
    assert len(str(friendly).rstrip("0")) <= 2 or value < 20


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_rounding_keeps_order(a, b):
    low, high = sorted((a, b))
    assert friendly_number(low) <= friendly_number(high)


histograms = st.lists(
    st.tuples(st.integers(-50, 20_000), st.integers(1, 50)), min_size=1, max_size=60
)
share_lists = st.lists(st.floats(0.001, 0.999), min_size=1, max_size=4, unique=True).map(
    lambda xs: sorted(xs, reverse=True)
)


def qualifying(histogram, threshold):
    return sum(n for growth, n in histogram if growth >= threshold)


@given(histograms, share_lists)
def test_reported_members_are_exact_and_the_target_is_never_overshot(histogram, shares):
    found = suggest_thresholds(histogram=histogram, shares=shares, tiers_above_base=4)
    total = sum(n for _, n in histogram)
    assert found.active_members == total
    for s in found.suggestions:
        assert s.members == qualifying(histogram, s.threshold)
        assert s.friendly_members == qualifying(histogram, s.friendly_threshold)
        assert s.share == s.members / total
        assert s.threshold >= 1
        # At most the target share qualifies, and one point lower more than it would
        # (unless the threshold is the floor of 1).
        assert s.members <= s.target_share * total + 1e-9
        if s.threshold > 1:
            assert qualifying(histogram, s.threshold - 1) > s.target_share * total - 1e-9
        assert abs(s.friendly_threshold - s.threshold) * 20 <= s.threshold


@given(histograms, share_lists)
def test_thresholds_rise_as_shares_fall(histogram, shares):
    found = suggest_thresholds(histogram=histogram, shares=shares, tiers_above_base=4)
    exact = [s.threshold for s in found.suggestions]
    friendly = [s.friendly_threshold for s in found.suggestions]
    assert exact == sorted(exact) and friendly == sorted(friendly)


# The what-if rules.
LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1")),
    TierRule("silver", "Silver", 1, 1_000, 800, Decimal("1.1")),
    TierRule("gold", "Gold", 2, 5_000, 4_000, Decimal("1.25"), (("events:purchase", 2),)),
)


def test_the_switch_keeps_the_rank_clamped_to_the_new_ladder():
    assert [switched_rank(r, ladder_size=2) for r in (0, 1, 2, 3)] == [0, 1, 1, 1]


@pytest.mark.parametrize(
    ("switched", "growth", "facts", "settled"),
    [
        (0, 999, {}, 0),
        (0, 1_000, {}, 1),
        (0, 9_000, {}, 1),  # Gold needs two purchases
        (0, 9_000, {"events:purchase": 2}, 2),
        (2, 3_999, {}, 1),  # below Gold's retention: one down
        (2, 4_000, {}, 2),
        (1, 100, {}, 0),
    ],
)
def test_settled_rank_promotes_as_high_as_allowed_else_drops_one(switched, growth, facts, settled):
    assert settled_rank(LADDER, switched=switched, growth=growth, facts=facts) == settled


def test_the_summary_counts_moves_distribution_and_benefit_changes():
    gold = HeldTier(3, "gold", "Gold")  # a four-tier ladder's Gold, rank 3
    base = HeldTier(0, "member", "Member")
    groups = [
        MemberGroup(gold, switched_rank=2, settled_rank=1, members=5),
        MemberGroup(base, switched_rank=0, settled_rank=1, members=7),
        MemberGroup(base, switched_rank=0, settled_rank=0, members=3),
    ]
    matrix = {"gold": frozenset({"lounge", "ship"}), "silver": frozenset({"ship"})}
    report = summarise(groups, draft=LADDER, matrix=matrix)
    assert report.members == 15
    at_switch, settled = report.at_switch, report.settled
    assert [(m.held.code, m.promoted, m.demoted, m.unchanged) for m in at_switch.movements] == [
        ("member", 0, 0, 10),
        ("gold", 0, 5, 0),
    ]
    assert [d.members for d in at_switch.distribution] == [10, 0, 5]
    # Gold code kept at the switch (rank 2 is Gold here): no benefit changes.
    assert at_switch.benefit_changes == ()
    assert [(m.held.code, m.promoted, m.demoted, m.unchanged) for m in settled.movements] == [
        ("member", 7, 0, 3),
        ("gold", 0, 5, 0),
    ]
    assert [d.members for d in settled.distribution] == [3, 12, 0]
    assert [(c.benefit, c.added, c.removed) for c in settled.benefit_changes] == [
        ("lounge", 0, 5),
        ("ship", 7, 0),
    ]
