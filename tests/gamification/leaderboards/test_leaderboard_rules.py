"""Leaderboard rules: the integer scope of a board period."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.leaderboards import (
    BoardSeason,
    Metric,
    Period,
    period_key_at,
    period_key_for,
    period_name,
    scope_of,
)


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
    keys = [
        "lifetime",
        "day:2026-11-25",
        "day:2026-11-26",
        "week:2026-W48",
        "week:2027-W01",
        "month:2026-11",
        "month:2026-12",
        "season:1",
        "season:2",
    ]
    assert len({scope_of(m, k) for m in Metric for k in keys}) == len(keys) * len(Metric)


@pytest.mark.parametrize("key", ["", "day:", "day:2026-13-01", "year:2026", "lifetime:1", "x"])
def test_a_malformed_period_key_has_no_scope(key):
    with pytest.raises(ValueError):
        scope_of(Metric.GROWTH, key)


ZONE = ZoneInfo("Asia/Shanghai")
D11 = BoardSeason(id=2, code="double11")


@given(
    period=st.sampled_from([Period.DAY, Period.WEEK, Period.MONTH]),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_period_name_is_taken_back_as_the_same_period(period, at):
    key = period_key_for(period, at=at, zone=ZONE, season=None, name=None)
    name = period_name(key)
    assert ":" not in name
    assert period_key_for(period, at=at, zone=ZONE, season=None, name=name) == key


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("day:2026-12-04", "2026-12-04"),
        ("week:2026-W49", "2026-W49"),
        ("month:2026-12", "2026-12"),
        ("lifetime", "all-time"),
        ("season:2", "double11"),
    ],
)
def test_periods_are_named_as_people_write_them(key, name):
    assert period_name(key, season_code="double11") == name


def test_all_time_and_season_boards_take_only_their_own_period_name():
    at = datetime(2026, 12, 4, tzinfo=UTC)

    def key(period: Period, name: str | None) -> str:
        return period_key_for(period, at=at, zone=ZONE, season=D11, name=name)

    assert key(Period.ALL_TIME, None) == key(Period.ALL_TIME, "all-time") == "lifetime"
    assert key(Period.SEASON, None) == key(Period.SEASON, "double11") == "season:2"
    for period, name in (
        (Period.ALL_TIME, "lifetime"),
        (Period.SEASON, "season:2"),
        (Period.SEASON, "618"),
        (Period.WEEK, "week:2026-W49"),
    ):
        with pytest.raises(ValueError):
            key(period, name)
