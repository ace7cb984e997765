"""Earning rules for one event: effects, stacking, caps, and the explanation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gamification.rules.conditions import Subject
from gamification.rules.engine import (
    Budget,
    Effect,
    GroupPick,
    SkipReason,
    check_effect,
    compile_rule,
    evaluate_rules,
    stacking_order,
)

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday
_ids = iter(range(1, 10_000))


def rule(effect: Effect, *, condition: dict[str, Any] | None = None, **kwargs: Any):
    n = next(_ids)
    return compile_rule(
        id=n,
        code=kwargs.pop("code", f"rule-{n}"),
        name=f"Rule {n}",
        version=1,
        event_type="purchase",
        condition=condition,
        effect=effect,
        **kwargs,
    )


def subject(amount: str = "80", **attributes: Any) -> Subject:
    return Subject(
        amount=Decimal(amount),
        attributes=attributes,
        local_time=AT,
        tier="gold",
        birthday=date(1990, 1, 1),
        joined_at=AT - timedelta(days=100),
        points_balance=0,
    )


def test_effects_add_up_and_each_rule_rounds_down_on_its_own():
    per_euro = rule(Effect(per_unit_of="amount", per_unit_rate=Decimal("0.5")))  # 39.5 -> 39
    double = rule(Effect(multiplier=Decimal(2)))
    bonus = rule(Effect(points=100, growth=5))

    earning = evaluate_rules(
        stacking_order([per_euro, double, bonus]), subject=subject("79"), at=AT, event_points=79
    )

    assert [(a.rule.code, a.points, a.growth) for a in earning.awards] == [
        (per_euro.code, 39, 0),
        (double.code, 79, 0),
        (bonus.code, 100, 5),
    ]
    assert (earning.points, earning.growth) == (218, 5)


def test_points_per_unit_of_line_items_count_price_times_quantity():
    items = [{"sku": "a", "category": "shoes", "price": "20.50", "quantity": 2}]
    per_item_euro = rule(Effect(per_unit_of="items", per_unit_rate=Decimal(1)))

    earning = evaluate_rules([per_item_euro], subject=subject(items=items), at=AT, event_points=0)

    assert earning.points == 41


def test_an_exclusive_group_applies_its_best_or_its_first_rule():
    small = rule(Effect(points=10), priority=5, group="welcome")
    big = rule(Effect(points=50), priority=1, group="welcome")
    first_small = rule(Effect(points=10), priority=5, group="birthday", pick=GroupPick.FIRST)
    first_big = rule(Effect(points=50), priority=1, group="birthday", pick=GroupPick.FIRST)
    loose = rule(Effect(points=1))

    earning = evaluate_rules(
        stacking_order([small, big, first_small, first_big, loose]),
        subject=subject(),
        at=AT,
        event_points=80,
    )

    assert {a.rule.code for a in earning.awards} == {big.code, first_small.code, loose.code}
    skipped = {s.rule.code: (s.reason, s.detail) for s in earning.skipped}
    assert skipped[small.code] == (
        SkipReason.EXCLUDED_BY_GROUP,
        f"{big.code} applied instead (group welcome)",
    )
    assert skipped[first_big.code][0] is SkipReason.EXCLUDED_BY_GROUP


def test_skipped_rules_say_why():
    closed = rule(Effect(points=5), starts_at=AT + timedelta(days=1))
    unmet = rule(
        Effect(points=5), condition={"attribute": {"name": "amount", "op": "gt", "value": 100}}
    )
    worthless = rule(Effect(multiplier=Decimal(2)))
    spent = rule(Effect(points=5), budget=Budget(campaign_points=100))
    capped = rule(Effect(points=5), budget=Budget(member_awards=1))

    earning = evaluate_rules(
        [closed, unmet, worthless, spent, capped],
        subject=subject(),
        at=AT,
        event_points=0,
        member_spent={capped.id: (5, 1)},
        exhausted=frozenset({spent.id}),
    )

    assert earning.awards == ()
    assert [s.reason for s in earning.skipped] == [
        SkipReason.NOT_RUNNING,
        SkipReason.CONDITION_NOT_MET,
        SkipReason.NOTHING_EARNED,
        SkipReason.BUDGET_EXHAUSTED,
        SkipReason.MEMBER_CAP_REACHED,
    ]


def test_an_exhausted_rule_makes_room_for_the_next_of_its_group():
    best = rule(Effect(points=50), group="g", budget=Budget(campaign_points=1000))
    fallback = rule(Effect(points=10), group="g")

    earning = evaluate_rules(
        [best, fallback], subject=subject(), at=AT, event_points=0, exhausted=frozenset({best.id})
    )

    assert [a.rule.code for a in earning.awards] == [fallback.code]


def test_an_effect_must_award_something_within_bounds():
    assert [p.field for p in check_effect(Effect(), schema=None)] == ["effect"]
    problems = check_effect(
        Effect(points=-1, per_unit_of="amount", per_unit_rate=Decimal(0), multiplier=Decimal(1)),
        schema=None,
    )
    assert [p.field for p in problems] == [
        "effect.points",
        "effect.perUnitRate",
        "effect.multiplier",
    ]


@given(
    cap=st.integers(1, 500),
    awards=st.lists(st.integers(1, 100), max_size=30),
)
def test_a_member_cap_is_never_passed(cap, awards):
    per_euro = rule(
        Effect(per_unit_of="amount", per_unit_rate=Decimal(1)), budget=Budget(member_points=cap)
    )
    given_so_far = 0
    for points in awards:
        earning = evaluate_rules(
            [per_euro],
            subject=subject(str(points)),
            at=AT,
            event_points=0,
            member_spent={per_euro.id: (given_so_far, 0)},
        )
        given_so_far += earning.points
        assert given_so_far <= cap
