"""Leaderboard rules: the integer scope of a board period."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.leaderboards import Metric, Period, period_key_at, scope_of


@given(
    metric=st.sampled_from(list(Metric)),
    period=st.sampled_from([Period.DAY, Period.WEEK, Period.MONTH]),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
)
def test_scopes_name_one_board_period_each(metric, period, at):
    key = period_key_at(period, at, zone=ZoneInfo("Asia/Shanghai"), season_id=None)
    scope = scope_of(metric, key)
    assert 0 <= scope < 2**63
    # Injective across metrics and kinds, and within a kind across periods.
    others = {scope_of(m, key) for m in Metric}
    assert len(others) == len(Metric)
    assert scope_of(metric, "lifetime") != scope
    assert scope_of(metric, key) == scope


def test_scopes_of_neighbouring_periods_differ():
    keys = ["lifetime", "day:2026-11-25", "day:2026-11-26", "week:2026-W48", "week:2027-W01",
            "month:2026-11", "month:2026-12", "season:1", "season:2"]  # fmt: skip
    assert len({scope_of(m, k) for m in Metric for k in keys}) == len(keys) * len(Metric)


@pytest.mark.parametrize("key", ["", "day:", "day:2026-13-01", "year:2026", "lifetime:1", "x"])
def test_a_malformed_period_key_has_no_scope(key):
    with pytest.raises(ValueError):
        scope_of(Metric.GROWTH, key)
