"""Coupon code patterns: what a pattern may hold, and the codes it makes."""

from __future__ import annotations

import random
import re

import pytest

from gamification.rewards import (
    check_coupon_code,
    check_coupon_pattern,
    coupon_codes,
    pattern_size,
)


def test_a_pattern_makes_distinct_codes_of_its_shape():
    codes = coupon_codes("SHOE-####-????", 1000, rng=random.Random(7))

    assert len(set(codes)) == 1000
    assert all(re.fullmatch(r"SHOE-[2-9]{4}-[A-HJ-NP-Z]{4}", c) for c in codes)


def test_the_size_of_a_pattern_counts_its_random_characters():
    assert pattern_size("AB-##") == 8 * 8
    assert pattern_size("?*") == 24 * 32


@pytest.mark.parametrize(
    ("pattern", "count", "problem"),
    [
        ("", 1, "must be 1 to 64 characters"),
        ("#" * 65, 1, "must be 1 to 64 characters"),
        ("ab-####", 1, "not 'ab'"),
        ("SHOE-###", 1, "at least 4 random characters"),
        ("####", 100, "too few to draw 100 at random"),
    ],
)
def test_a_bad_pattern_says_why(pattern, count, problem):
    [found] = check_coupon_pattern(pattern, count)

    assert found.field == "pattern" and problem in found.message


def test_a_count_out_of_bounds_is_refused_whatever_the_pattern():
    assert [p.field for p in check_coupon_pattern("####-####", 0)] == ["count"]
    assert [p.field for p in check_coupon_pattern("####-####", 100_001)] == ["count"]
    assert check_coupon_pattern("####-####", 100) == []


@pytest.mark.parametrize("code", ["SHOE-1", "a", "x_y-Z9", "9" * 64])
def test_imported_codes_may_be_letters_digits_dashes_and_underscores(code):
    assert check_coupon_code(code) is None


@pytest.mark.parametrize("code", ["", "-x", "has space", "é", "9" * 65, "a;b"])
def test_other_imported_codes_are_refused(code):
    assert check_coupon_code(code) is not None
