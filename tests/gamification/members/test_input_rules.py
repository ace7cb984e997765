"""Input rules for awards and enrollments (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gamification.members import check_enrollment
from gamification.points.ledger import check_award

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def fields(problems):
    return [p.field for p in problems]


def award(**overrides):
    args = {"amount": 10, "reason": "Welcome", "idempotency_key": "k1", "max_amount": 1000}
    return check_award(**(args | overrides))


def test_a_sound_award_has_no_problems():
    assert award() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 1001}, "amount"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"idempotency_key": ""}, "idempotencyKey"),
        ({"idempotency_key": "k" * 129}, "idempotencyKey"),
    ],
)
def test_a_bad_award_names_the_field(overrides, field):
    assert fields(award(**overrides)) == [field]


def test_every_problem_of_an_award_is_reported_at_once():
    assert fields(award(amount=0, reason="", idempotency_key="")) == [
        "amount",
        "reason",
        "idempotencyKey",
    ]


def enrollment(**overrides):
    args = {
        "external_id": "crm-1",
        "display_name": "Ada",
        "birthday": date(1990, 5, 1),
        "joined_at": None,
        "now": NOW,
        "today": date(2026, 11, 25),
    }
    return check_enrollment(**(args | overrides))


def test_a_sound_enrollment_has_no_problems():
    assert enrollment() == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": ""}, "externalId"),
        ({"external_id": " crm-1"}, "externalId"),
        ({"external_id": "x" * 129}, "externalId"),
        ({"display_name": "  "}, "displayName"),
        ({"display_name": "x" * 81}, "displayName"),
        ({"display_name": "Ada\x00"}, "displayName"),
        ({"birthday": date(2026, 11, 26)}, "birthday"),
        ({"birthday": date(1899, 12, 31)}, "birthday"),
        ({"joined_at": NOW + timedelta(hours=1)}, "joinedAt"),
        ({"joined_at": datetime(2026, 1, 1)}, "joinedAt"),
    ],
)
def test_a_bad_enrollment_names_the_field(overrides, field):
    assert fields(enrollment(**overrides)) == [field]


def test_a_birthday_today_in_the_programme_zone_is_fine():
    assert enrollment(birthday=date(2026, 11, 25)) == []
