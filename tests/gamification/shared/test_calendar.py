"""Task windows in the programme's time zone: local days, ISO weeks, months and seasons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamification.shared.calendar import (
    Season,
    Window,
    WindowSpan,
    local_day,
    next_local_midnight,
    window_for,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",  # DST shifts by 30 minutes
        "Asia/Kathmandu",  # +05:45
    )
]
CALENDAR_WINDOWS = [Window.DAY, Window.WEEK, Window.MONTH]
MICROSECOND = timedelta(microseconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def span(key: str, starts_at: str, ends_at: str) -> WindowSpan:
    return WindowSpan(key=key, starts_at=utc(starts_at), ends_at=utc(ends_at))


# --- local days ------------------------------------------------------------------------


def test_the_local_day_turns_over_at_local_midnight_not_utc_midnight():
    # given Shanghai (UTC+8), where local midnight of 25 November is 16:00 UTC on the 24th
    just_before, midnight = utc("2026-11-24T15:59:59"), utc("2026-11-24T16:00:00")

    # when / then
    assert local_day(just_before, zone=SHANGHAI) == date(2026, 11, 24)
    assert local_day(midnight, zone=SHANGHAI) == date(2026, 11, 25)
    assert window_for(Window.DAY, just_before, zone=SHANGHAI) == span(
        "day:2026-11-24", "2026-11-23T16:00:00", "2026-11-24T16:00:00"
    )
    assert window_for(Window.DAY, midnight, zone=SHANGHAI) == span(
        "day:2026-11-25", "2026-11-24T16:00:00", "2026-11-25T16:00:00"
    )


def test_next_local_midnight_is_where_the_day_window_ends():
    at = utc("2026-11-24T15:59:59.999999")

    assert next_local_midnight(at, zone=SHANGHAI) == utc("2026-11-24T16:00:00")
    assert next_local_midnight(utc("2026-11-24T16:00:00"), zone=SHANGHAI) == utc(
        "2026-11-25T16:00:00"
    )


def test_an_instant_given_in_another_offset_lands_in_the_same_windows():
    # given the same instant written in UTC and in Shanghai's offset
    in_utc = utc("2026-11-24T16:30:00")
    in_shanghai = datetime.fromisoformat("2026-11-25T00:30:00+08:00")

    # when / then: windows depend on the instant, and always come back in UTC
    for window in CALENDAR_WINDOWS:
        from_utc = window_for(window, in_utc, zone=SHANGHAI)
        assert window_for(window, in_shanghai, zone=SHANGHAI) == from_utc
        assert from_utc is not None
        assert from_utc.starts_at is not None and from_utc.starts_at.tzinfo is UTC
        assert from_utc.ends_at is not None and from_utc.ends_at.tzinfo is UTC


def test_the_lifetime_window_never_starts_or_ends():
    assert window_for(Window.LIFETIME, utc("2026-11-25T08:00:00"), zone=SHANGHAI) == WindowSpan(
        key="lifetime", starts_at=None, ends_at=None
    )


# --- weeks -----------------------------------------------------------------------------


def test_a_week_runs_from_monday_local_midnight_to_the_next():
    # given Monday 30 November 2026 begins at 16:00 UTC on Sunday the 29th in Shanghai
    sunday_night, monday_midnight = utc("2026-11-29T15:59:59"), utc("2026-11-29T16:00:00")

    # when / then
    assert window_for(Window.WEEK, sunday_night, zone=SHANGHAI) == span(
        "week:2026-W48", "2026-11-22T16:00:00", "2026-11-29T16:00:00"
    )
    assert window_for(Window.WEEK, monday_midnight, zone=SHANGHAI) == span(
        "week:2026-W49", "2026-11-29T16:00:00", "2026-12-06T16:00:00"
    )


@pytest.mark.parametrize(
    ("local_date", "key"),
    [
        ("2024-12-29", "week:2024-W52"),  # Sunday
        ("2024-12-30", "week:2025-W01"),  # Monday in December, already in ISO 2025
        ("2026-12-31", "week:2026-W53"),  # 2026 starts on a Thursday: 53 ISO weeks
        ("2027-01-01", "week:2026-W53"),  # January, still ISO 2026
        ("2027-01-03", "week:2026-W53"),
        ("2027-01-04", "week:2027-W01"),  # the first Monday of ISO 2027
    ],
)
def test_week_keys_use_the_iso_week_year(local_date, key):
    # given noon local time on that date
    at = datetime.fromisoformat(f"{local_date}T12:00:00").replace(tzinfo=SHANGHAI)

    # when
    week = window_for(Window.WEEK, at, zone=SHANGHAI)

    # then
    assert week is not None
    assert week.key == key


# --- months ----------------------------------------------------------------------------


def test_december_rolls_over_into_january_of_the_next_year():
    last_moment, new_year = utc("2026-12-31T15:59:59.999999"), utc("2026-12-31T16:00:00")

    assert window_for(Window.MONTH, last_moment, zone=SHANGHAI) == span(
        "month:2026-12", "2026-11-30T16:00:00", "2026-12-31T16:00:00"
    )
    assert window_for(Window.MONTH, new_year, zone=SHANGHAI) == span(
        "month:2027-01", "2026-12-31T16:00:00", "2027-01-31T16:00:00"
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2028-02-29T15:59:59", ("month:2028-02", "2028-01-31T16:00:00", "2028-02-29T16:00:00")),
        ("2028-02-29T16:00:00", ("month:2028-03", "2028-02-29T16:00:00", "2028-03-31T16:00:00")),
        ("2027-02-27T16:00:00", ("month:2027-02", "2027-01-31T16:00:00", "2027-02-28T16:00:00")),
        ("2027-02-28T16:00:00", ("month:2027-03", "2027-02-28T16:00:00", "2027-03-31T16:00:00")),
    ],
)
def test_february_has_29_days_in_a_leap_year_and_28_otherwise(at, expected):
    assert window_for(Window.MONTH, utc(at), zone=SHANGHAI) == span(*expected)


# --- daylight saving time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_date", "hours"),
    [
        (NEW_YORK, "2026-03-08", 23),  # clocks spring forward at 02:00
        (NEW_YORK, "2026-11-01", 25),  # and fall back at 02:00
        (NEW_YORK, "2026-11-02", 24),
        (BERLIN, "2026-03-29", 23),
        (BERLIN, "2026-10-25", 25),
        (BERLIN, "2026-10-26", 24),
    ],
)
def test_a_local_day_lasts_23_or_25_hours_when_the_clocks_change(zone, local_date, hours):
    # given noon on that local date
    at = datetime.fromisoformat(f"{local_date}T12:00:00").replace(tzinfo=zone)

    # when
    day = window_for(Window.DAY, at, zone=zone)

    # then
    assert day is not None and day.starts_at is not None and day.ends_at is not None
    assert day.key == f"day:{local_date}"
    assert day.ends_at - day.starts_at == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        # New York, spring forward: EST (-5) until 07:00 UTC on 8 March, then EDT (-4)
        (
            NEW_YORK,
            "2026-03-08T04:59:59",
            ("day:2026-03-07", "2026-03-07T05:00", "2026-03-08T05:00"),
        ),
        (
            NEW_YORK,
            "2026-03-08T05:00:00",
            ("day:2026-03-08", "2026-03-08T05:00", "2026-03-09T04:00"),
        ),
        (
            NEW_YORK,
            "2026-03-09T03:59:59",
            ("day:2026-03-08", "2026-03-08T05:00", "2026-03-09T04:00"),
        ),
        (
            NEW_YORK,
            "2026-03-09T04:00:00",
            ("day:2026-03-09", "2026-03-09T04:00", "2026-03-10T04:00"),
        ),
        # New York, fall back: 01:30 happens twice (05:30 and 06:30 UTC), both on 1 November
        (
            NEW_YORK,
            "2026-11-01T05:30:00",
            ("day:2026-11-01", "2026-11-01T04:00", "2026-11-02T05:00"),
        ),
        (
            NEW_YORK,
            "2026-11-01T06:30:00",
            ("day:2026-11-01", "2026-11-01T04:00", "2026-11-02T05:00"),
        ),
        (
            NEW_YORK,
            "2026-11-02T04:59:59",
            ("day:2026-11-01", "2026-11-01T04:00", "2026-11-02T05:00"),
        ),
        (
            NEW_YORK,
            "2026-11-02T05:00:00",
            ("day:2026-11-02", "2026-11-02T05:00", "2026-11-03T05:00"),
        ),
        # Berlin: CET (+1) until 01:00 UTC on 29 March, CEST (+2) until 01:00 UTC on 25 October
        (BERLIN, "2026-03-28T22:59:59", ("day:2026-03-28", "2026-03-27T23:00", "2026-03-28T23:00")),
        (BERLIN, "2026-03-28T23:00:00", ("day:2026-03-29", "2026-03-28T23:00", "2026-03-29T22:00")),
        (BERLIN, "2026-03-29T22:00:00", ("day:2026-03-30", "2026-03-29T22:00", "2026-03-30T22:00")),
        (BERLIN, "2026-10-24T22:00:00", ("day:2026-10-25", "2026-10-24T22:00", "2026-10-25T23:00")),
        (BERLIN, "2026-10-25T22:59:59", ("day:2026-10-25", "2026-10-24T22:00", "2026-10-25T23:00")),
        (BERLIN, "2026-10-25T23:00:00", ("day:2026-10-26", "2026-10-25T23:00", "2026-10-26T23:00")),
    ],
)
def test_day_windows_around_the_clock_changes(zone, at, expected):
    assert window_for(Window.DAY, utc(at), zone=zone) == span(*expected)


def test_a_week_holding_a_clock_change_is_an_hour_short_or_long():
    spring = window_for(Window.WEEK, utc("2026-03-04T12:00:00"), zone=NEW_YORK)
    autumn = window_for(Window.WEEK, utc("2026-10-28T12:00:00"), zone=NEW_YORK)

    assert spring == span("week:2026-W10", "2026-03-02T05:00:00", "2026-03-09T04:00:00")
    assert autumn == span("week:2026-W44", "2026-10-26T04:00:00", "2026-11-02T05:00:00")


def test_a_day_whose_midnight_is_skipped_begins_at_the_jump():
    # given Santiago moves its clocks from 00:00 to 01:00 (04:00 UTC) on 6 September 2026
    santiago = ZoneInfo("America/Santiago")

    # when
    day = window_for(Window.DAY, utc("2026-09-06T04:00:00"), zone=santiago)
    eve = window_for(Window.DAY, utc("2026-09-06T03:59:59"), zone=santiago)

    # then
    assert day == span("day:2026-09-06", "2026-09-06T04:00:00", "2026-09-07T03:00:00")
    assert eve == span("day:2026-09-05", "2026-09-05T04:00:00", "2026-09-06T04:00:00")


def test_a_date_the_zone_skipped_leaves_no_gap_between_windows():
    # given Samoa went from 29 December 2011 straight to 31 December (at 10:00 UTC)
    apia = ZoneInfo("Pacific/Apia")

    # when
    before = window_for(Window.DAY, utc("2011-12-30T09:59:59"), zone=apia)
    after = window_for(Window.DAY, utc("2011-12-30T10:00:00"), zone=apia)

    # then
    assert before == span("day:2011-12-29", "2011-12-29T10:00:00", "2011-12-30T10:00:00")
    assert after == span("day:2011-12-31", "2011-12-30T10:00:00", "2011-12-31T10:00:00")


# --- seasons ---------------------------------------------------------------------------

DOUBLE_11 = Season(
    id=7,
    starts_at=datetime.fromisoformat("2026-11-01T00:00:00+08:00"),
    ends_at=datetime.fromisoformat("2026-11-12T00:00:00+08:00"),
)


@pytest.mark.parametrize(
    "at",
    ["2026-10-31T16:00:00", "2026-11-05T12:00:00", "2026-11-11T15:59:59.999999"],
)
def test_an_instant_inside_the_season_is_in_its_window(at):
    assert window_for(Window.SEASON, utc(at), zone=SHANGHAI, season=DOUBLE_11) == span(
        "season:7", "2026-10-31T16:00:00", "2026-11-11T16:00:00"
    )


@pytest.mark.parametrize("at", ["2026-10-31T15:59:59.999999", "2026-11-11T16:00:00"])
def test_an_instant_before_the_season_or_at_its_exclusive_end_has_no_window(at):
    assert window_for(Window.SEASON, utc(at), zone=SHANGHAI, season=DOUBLE_11) is None


def test_there_is_no_season_window_without_a_season():
    assert window_for(Window.SEASON, utc("2026-11-05T12:00:00"), zone=SHANGHAI) is None


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "complaint"),
    [
        (datetime(2026, 11, 1), utc("2026-11-12T00:00:00"), "timezone-aware"),
        (utc("2026-11-01T00:00:00"), datetime(2026, 11, 12), "timezone-aware"),
        (utc("2026-11-12T00:00:00"), utc("2026-11-12T00:00:00"), "end after it starts"),
        (utc("2026-11-12T00:00:00"), utc("2026-11-01T00:00:00"), "end after it starts"),
    ],
)
def test_a_season_needs_aware_times_and_a_positive_length(starts_at, ends_at, complaint):
    with pytest.raises(ValueError, match=complaint):
        Season(id=1, starts_at=starts_at, ends_at=ends_at)


# --- naive datetimes -------------------------------------------------------------------

NAIVE = datetime(2026, 11, 25, 12, 0)


@pytest.mark.parametrize("window", list(Window))
def test_a_naive_datetime_is_refused_for_every_window(window):
    with pytest.raises(ValueError, match="timezone-aware"):
        window_for(window, NAIVE, zone=SHANGHAI, season=DOUBLE_11)


def test_local_day_and_next_local_midnight_refuse_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        local_day(NAIVE, zone=SHANGHAI)
    with pytest.raises(ValueError, match="timezone-aware"):
        next_local_midnight(NAIVE, zone=SHANGHAI)


# --- properties ------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(ZONES)
calendar_windows = st.sampled_from(CALENDAR_WINDOWS)


def calendar_window(window: Window, at: datetime, zone: ZoneInfo) -> WindowSpan:
    found = window_for(window, at, zone=zone)
    assert found is not None and found.starts_at is not None and found.ends_at is not None
    return found


def key_from_local_date(window: Window, local: date) -> str:
    if window is Window.DAY:
        return f"day:{local:%Y-%m-%d}"
    if window is Window.WEEK:
        year, week, _ = local.isocalendar()
        return f"week:{year}-W{week:02d}"
    return f"month:{local:%Y-%m}"


@given(calendar_windows, instants, zones)
def test_the_window_contains_the_instant(window, at, zone):
    found = calendar_window(window, at, zone)

    assert found.starts_at <= at < found.ends_at
    assert found.starts_at.tzinfo is UTC and found.ends_at.tzinfo is UTC


@given(calendar_windows, instants, zones)
def test_consecutive_windows_tile_without_gaps_or_overlaps(window, at, zone):
    found = calendar_window(window, at, zone)

    following = calendar_window(window, found.ends_at, zone)
    preceding = calendar_window(window, found.starts_at - MICROSECOND, zone)

    assert following.starts_at == found.ends_at and following.key != found.key
    assert preceding.ends_at == found.starts_at and preceding.key != found.key


@given(calendar_windows, instants, zones)
def test_the_key_is_named_after_the_local_date(window, at, zone):
    local = at.astimezone(zone).date()

    assert local_day(at, zone=zone) == local
    assert calendar_window(window, at, zone).key == key_from_local_date(window, local)


@given(calendar_windows, instants, zones)
def test_a_window_starts_on_the_first_instant_of_its_first_local_day(window, at, zone):
    found = calendar_window(window, at, zone)
    first_day = found.starts_at.astimezone(zone).date()

    assert (found.starts_at - MICROSECOND).astimezone(zone).date() < first_day
    if window is Window.WEEK:
        assert first_day.weekday() == 0
    if window is Window.MONTH:
        assert first_day.day == 1


@given(instants, zones)
def test_next_local_midnight_ends_the_day_window(at, zone):
    assert next_local_midnight(at, zone=zone) == calendar_window(Window.DAY, at, zone).ends_at
