"""What a valid benefit value is, per kind, and when a grant may be used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gamification.benefits import (
    BenefitKind,
    GrantStatus,
    Unusable,
    check_benefit,
    check_benefit_value,
    effective_status,
    why_unusable,
)

K = BenefitKind
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (K.DISCOUNT, {"percent": 10}),
        (K.DISCOUNT, {"percent": 12.5}),
        (K.DISCOUNT, {"amount": 5}),
        (K.POINTS_MULTIPLIER, {"factor": 2}),
        (K.POINTS_MULTIPLIER, {"factor": 1.01}),
        (K.FREE_SHIPPING, {}),
        (K.PRIORITY_SERVICE, {}),
        (K.BIRTHDAY_GIFT, {"description": "A cake"}),
        (K.EXCLUSIVE_EVENT, {"name": "Gala", "starts_at": "2026-06-01T19:00:00+08:00"}),
        (K.COUPON, {"code_prefix": "SPRING", "amount": 20}),
        (K.COUPON, {"code_prefix": "GOLD-10", "percent": 10}),
    ],
)
def test_a_value_of_the_right_shape_is_accepted(kind, value):
    assert check_benefit_value(kind, value) == []


@pytest.mark.parametrize(
    ("kind", "value", "fields"),
    [
        (K.DISCOUNT, {"percent": 0}, ["value.percent"]),
        (K.DISCOUNT, {"percent": 101}, ["value.percent"]),
        (K.DISCOUNT, {"percent": True}, ["value.percent"]),
        (K.DISCOUNT, {"amount": 0}, ["value.amount"]),
        (K.DISCOUNT, {"amount": "5"}, ["value.amount"]),
        (K.DISCOUNT, {}, ["value"]),
        (K.DISCOUNT, {"percent": 10, "amount": 5}, ["value"]),
        (K.POINTS_MULTIPLIER, {"factor": 1}, ["value.factor"]),
        (K.POINTS_MULTIPLIER, {"factor": 10.5}, ["value.factor"]),
        (K.POINTS_MULTIPLIER, {}, ["value.factor"]),
        (K.FREE_SHIPPING, {"percent": 5}, ["value.percent"]),
        (K.PRIORITY_SERVICE, [], ["value"]),
        (K.BIRTHDAY_GIFT, {"description": "  "}, ["value.description"]),
        (K.EXCLUSIVE_EVENT, {"name": "Gala", "starts_at": "2026-06-01T19:00"}, ["value.starts_at"]),
        (K.EXCLUSIVE_EVENT, {"starts_at": "soon"}, ["value.name", "value.starts_at"]),
        (K.COUPON, {"code_prefix": "has space", "amount": 5}, ["value.code_prefix"]),
        (K.COUPON, {"code_prefix": "X"}, ["value"]),
    ],
)
def test_a_wrong_value_is_refused_field_by_field(kind, value, fields):
    assert [p.field for p in check_benefit_value(kind, value)] == fields


def test_a_benefit_reports_its_own_fields_before_its_value():
    problems = check_benefit(
        code="Bad Code", name="", description="", kind=K.DISCOUNT, value={"percent": 500}
    )

    assert [p.field for p in problems] == ["code", "name", "value.percent"]


def test_a_grant_is_usable_only_while_active_and_valid():
    hour = timedelta(hours=1)

    def why(status=GrantStatus.ACTIVE, valid_from=NOW - hour, valid_to=None):
        return why_unusable(status, valid_from=valid_from, valid_to=valid_to, now=NOW)

    assert why() is None
    assert why(valid_to=NOW + hour) is None
    assert why(status=GrantStatus.USED) is Unusable.USED
    assert why(status=GrantStatus.EXPIRED) is Unusable.EXPIRED
    assert why(valid_to=NOW) is Unusable.EXPIRED  # the end is exclusive
    assert why(valid_from=NOW + hour) is Unusable.NOT_YET
    assert effective_status(GrantStatus.ACTIVE, valid_to=NOW, now=NOW) is GrantStatus.EXPIRED
