"""The evaluation rules (pure): who drops, by how much, when, and what they are told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from gamification.tiers.evaluation import (
    demotion_rules,
    demotion_target,
    evaluation_calendar,
    retention_gap,
    retention_warning,
)
from gamification.tiers.ladder import TierRule, evaluation_starts_at, validate_ladder


@st.composite
def ladders(draw: st.DrawFn) -> tuple[TierRule, ...]:
    """Valid ladders of 1 to 6 tiers with random thresholds and hysteresis."""
    size = draw(st.integers(1, 6))
    entries = [0]
    for _ in range(size - 1):
        entries.append(entries[-1] + draw(st.integers(1, 10_000)))
    tiers = []
    for rank, entry in enumerate(entries):
        low = entries[rank - 1] if rank else 0
        keep = draw(st.integers(low, entry)) if rank else 0
        tiers.append(TierRule(f"t{rank}", f"Tier {rank}", rank, entry, keep, Decimal(1)))
    return validate_ladder(tiers)


@given(ladder=ladders(), data=st.data(), growth=st.integers(0, 80_000))
def test_a_member_drops_at_most_one_tier_and_never_below_the_base(ladder, data, growth):
    current = data.draw(st.sampled_from(ladder))
    after = demotion_target(ladder, current=current, growth=growth)
    assert after.rank in {current.rank, current.rank - 1} and after.rank >= 0
    # Dropped exactly when below the tier's retention (the base tier never drops).
    assert (after.rank < current.rank) == (growth < current.retention_threshold)
    assert retention_gap(current, growth=growth) == max(current.retention_threshold - growth, 0)


@given(ladder=ladders(), data=st.data())
def test_members_at_or_above_retention_never_change(ladder, data):
    current = data.draw(st.sampled_from(ladder))
    growth = data.draw(
        st.integers(current.retention_threshold, current.retention_threshold + 10**6)
    )
    assert demotion_target(ladder, current=current, growth=growth) == current


@given(ladder=ladders())
def test_the_rules_the_database_applies_are_one_per_tier_above_the_base(ladder):
    rules = demotion_rules(ladder)
    assert [(r.from_rank, r.to_rank) for r in rules] == [(t.rank, t.rank - 1) for t in ladder[1:]]
    assert [r.keep_at for r in rules] == [t.retention_threshold for t in ladder[1:]]


@given(missing=st.integers(1, 10**9))
def test_the_warning_says_how_much_growth_is_missing_and_by_when(missing):
    gold = TierRule("gold", "Gold", 2, 5_000, 4_000, Decimal(1))
    silver = TierRule("silver", "Silver", 1, 1_000, 800, Decimal(1))
    words = retention_warning(current=gold, lower=silver, deadline=date(2026, 12, 1))
    assert words.body(missing) == (
        f"Collect {missing} more growth before 1 December 2026 to keep Gold "
        "(4000 growth keeps it). Otherwise you move down to Silver at that evaluation."
    )


ZONES = st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"])


@given(
    zone=ZONES,
    day_of_month=st.integers(1, 31),
    warning_days=st.integers(0, 27),
    grace_days=st.integers(0, 27),
    now=st.datetimes(datetime(2025, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_the_calendar_warns_before_and_demotes_on_or_after_the_date(
    zone, day_of_month, warning_days, grace_days, now
):
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    plan = evaluation_calendar(
        now=now,
        zone=tz,
        day_of_month=day_of_month,
        warning_days=warning_days,
        grace_days=grace_days,
    )
    if plan.demote_for is not None:
        due = plan.demote_for + timedelta(grace_days)
        assert due <= today < due + timedelta(4)
        assert evaluation_starts_at(plan.demote_for, zone=tz) <= now
    if plan.warn_for is not None:
        assert plan.deadline == plan.warn_for + timedelta(grace_days)
        assert plan.warn_for - timedelta(warning_days) <= today < plan.deadline
        assert plan.warn_for != plan.demote_for
    else:
        assert plan.deadline is None
