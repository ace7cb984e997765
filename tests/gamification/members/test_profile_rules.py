"""Rules for changing a member's profile and deactivating it (pure, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from gamification.members import (
    canonical_language_tag,
    check_deactivation_reason,
    check_profile,
)

TODAY = date(2026, 11, 25)


def fields(problems):
    return [p.field for p in problems]


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("en", "en"),
        ("fr-ca", "fr-CA"),
        ("ZH-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sl-rozaj", "sl-rozaj"),
        ("de-CH-1901", "de-CH-1901"),
    ],
)
def test_language_tags_are_taken_in_the_usual_case(tag, canonical):
    assert canonical_language_tag(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "english", "en_US", "en-", "fr-CA-", "en US", "12"])
def test_what_is_not_a_language_tag_is_refused(tag):
    assert canonical_language_tag(tag) is None
    assert fields(check_profile({"locale": tag}, today=TODAY)) == ["locale"]


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Argentina/Buenos_Aires", "UTC"])
def test_iana_zones_are_taken(zone):
    assert check_profile({"time_zone": zone}, today=TODAY) == []


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/paris", "+02:00", "", "../etc/passwd"])
def test_anything_else_is_not_a_time_zone(zone):
    assert fields(check_profile({"time_zone": zone}, today=TODAY)) == ["timeZone"]


def test_a_birthday_today_is_fine_and_tomorrow_is_not():
    assert check_profile({"birthday": TODAY}, today=TODAY) == []
    assert fields(check_profile({"birthday": date(2026, 11, 26)}, today=TODAY)) == ["birthday"]


def test_cleared_fields_and_fields_left_out_are_not_checked():
    assert check_profile({"time_zone": None, "locale": None, "birthday": None}, today=TODAY) == []
    assert check_profile({}, today=TODAY) == []


def test_a_deactivation_needs_a_reason_of_at_most_200_characters():
    assert check_deactivation_reason("Account closed") == []
    assert fields(check_deactivation_reason(" ")) == ["reason"]
    assert fields(check_deactivation_reason("x" * 201)) == ["reason"]
