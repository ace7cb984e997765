"""The nearest-rank percentile rule reports use, against its definition on sorted lists."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.analytics import nearest_rank

values = st.lists(st.integers(min_value=-5, max_value=400), min_size=1, max_size=60)
percents = st.integers(min_value=1, max_value=100)


@given(values, percents)
def test_it_is_the_ceil_pn_over_100th_smallest(xs: list[int], percent: int) -> None:
    position = -(-percent * len(xs) // 100)
    assert nearest_rank(Counter(xs), percent) == sorted(xs)[position - 1]


@given(values, percents)
def test_at_least_percent_are_at_or_below_and_fewer_below(xs: list[int], percent: int) -> None:
    found = nearest_rank(Counter(xs), percent)
    assert found in xs
    assert 100 * sum(x <= found for x in xs) >= percent * len(xs)
    assert 100 * sum(x < found for x in xs) < percent * len(xs)


@given(values)
def test_percentiles_do_not_decrease_and_100_is_the_maximum(xs: list[int]) -> None:
    found = [nearest_rank(Counter(xs), p) for p in range(1, 101)]
    assert found == sorted(found)  # type: ignore[type-var]
    assert found[0] == min(xs)
    assert found[-1] == max(xs)


def test_hand_picked_cases() -> None:
    assert nearest_rank({}, 50) is None
    assert nearest_rank({3: 0}, 50) is None
    assert nearest_rank({1: 1, 2: 1, 3: 1, 4: 1}, 50) == 2  # the lower middle
    assert nearest_rank({10: 9, 99: 1}, 90) == 10
    assert nearest_rank({10: 9, 99: 1}, 91) == 99
    with pytest.raises(ValueError):
        nearest_rank({1: 1}, 0)
    with pytest.raises(ValueError):
        nearest_rank({1: -1}, 50)
