"""Condition trees: checked with the path of each faulty node, evaluated without eval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gamification.activity.attributes import AttributeSpec, AttributeType
from gamification.rules.conditions import (
    MAX_DEPTH,
    MAX_NODES,
    Subject,
    check_condition,
    compile_condition,
)

SCHEMA = (
    AttributeSpec("total", AttributeType.MONEY, required=True),
    AttributeSpec("channel", AttributeType.STRING),
    AttributeSpec("items", AttributeType.LINE_ITEMS),
    AttributeSpec("gift", AttributeType.BOOLEAN),
)
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def subject(**overrides: Any) -> Subject:
    fields: dict[str, Any] = {
        "amount": Decimal("80"),
        "attributes": {
            "total": "80.00",
            "channel": "web",
            "items": [
                {"sku": "S1", "category": "shoes", "price": "60", "quantity": 1},
                {"sku": "T1", "category": "socks", "price": "10", "quantity": 2},
            ],
        },
        "local_time": SATURDAY_NOON,
        "tier": "gold",
        "birthday": date(1990, 11, 3),
        "joined_at": datetime(2026, 1, 1, tzinfo=UTC),
        "points_balance": 500,
    }
    fields.update(overrides)
    return Subject(**fields)


def holds(tree: dict[str, Any], s: Subject | None = None) -> bool:
    assert check_condition(tree, schema=SCHEMA) == []
    return compile_condition(tree)(s or subject())


def test_the_issue_example_holds_on_a_weekend_for_gold_with_a_shoe_over_50():
    tree = {
        "all": [
            {
                "lineItems": {
                    "of": "items",
                    "where": [
                        {"field": "category", "op": "eq", "value": "shoes"},
                        {"field": "price", "op": "gt", "value": 50},
                    ],
                    "measure": "any",
                }
            },
            {"time": {"field": "dayOfWeek", "op": "in", "value": ["saturday", "sunday"]}},
            {"member": {"field": "tier", "op": "in", "value": ["gold", "platinum"]}},
        ]
    }

    assert holds(tree)
    assert not holds(tree, subject(tier="silver"))
    assert not holds(tree, subject(local_time=datetime(2026, 11, 30, 12, tzinfo=UTC)))


def test_line_items_count_sum_and_all():
    shoes = [{"field": "category", "op": "eq", "value": "shoes"}]
    assert holds({"lineItems": {"of": "items", "measure": "sum", "op": "gte", "value": 80}})
    assert not holds({"lineItems": {"of": "items", "measure": "sum", "op": "gt", "value": 80}})
    assert holds({"lineItems": {"of": "items", "measure": "quantity", "op": "eq", "value": 3}})
    count = {"of": "items", "where": shoes, "measure": "count", "op": "eq", "value": 1}
    assert holds({"lineItems": count})
    assert not holds({"lineItems": {"of": "items", "where": shoes, "measure": "all"}})


def test_attributes_member_and_time_fields():
    assert holds({"attribute": {"name": "total", "op": "gte", "value": 50}})
    assert holds({"attribute": {"name": "amount", "op": "lt", "value": 100}})
    assert holds({"attribute": {"name": "channel", "op": "in", "value": ["web", "app"]}})
    assert not holds({"attribute": {"name": "gift", "op": "exists"}})
    assert holds({"member": {"field": "inBirthdayMonth", "op": "eq", "value": True}})
    assert holds({"member": {"field": "daysSinceSignup", "op": "gte", "value": 300}})
    assert holds({"member": {"field": "pointsBalance", "op": "lt", "value": 1000}})
    assert holds({"time": {"field": "hour", "op": "gte", "value": 12}})
    assert holds({"time": {"field": "date", "op": "lt", "value": "2026-12-01"}})


def test_a_missing_attribute_never_matches_even_a_negation_of_a_comparison():
    s = subject(attributes={})
    assert not holds({"attribute": {"name": "channel", "op": "ne", "value": "web"}}, s)
    assert not holds({"attribute": {"name": "channel", "op": "notIn", "value": ["web"]}}, s)


def test_each_problem_names_the_path_of_its_node():
    tree = {
        "all": [
            {"attribute": {"name": "total", "op": "gte", "value": "lots"}},
            {"any": [{"member": {"field": "shoeSize", "op": "eq", "value": 1}}]},
            {"not": {"time": {"field": "dayOfWeek", "op": "in", "value": ["caturday"]}}},
            {"attribute": {"name": "colour", "op": "eq", "value": "red"}},
            {"lineItems": {"of": "channel", "measure": "most"}},
            {"some": []},
        ]
    }

    fields = [p.field for p in check_condition(tree, schema=SCHEMA)]

    assert fields == [
        "condition.all[0].attribute.value",
        "condition.all[1].any[0].member.field",
        "condition.all[2].not.time.value",
        "condition.all[3].attribute.name",
        "condition.all[4].lineItems.of",
        "condition.all[4].lineItems.measure",
        "condition.all[5]",
    ]


def test_a_tree_is_bounded_in_nodes_and_depth():
    wide = {"any": [{"attribute": {"name": "gift", "op": "exists"}}] * MAX_NODES}
    deep: dict[str, Any] = {"attribute": {"name": "gift", "op": "exists"}}
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}

    assert [p.field for p in check_condition(wide, schema=SCHEMA)] == ["condition"]
    assert any("levels deep" in p.message for p in check_condition(deep, schema=SCHEMA))


def test_without_a_schema_any_attribute_may_be_named_and_compares_by_its_operand():
    tree = {"attribute": {"name": "total", "op": "gt", "value": 50}}
    assert check_condition(tree, schema=None) == []
    assert compile_condition(tree)(subject(attributes={"total": "59.90"}))
    assert not compile_condition(tree)(subject(attributes={"total": "n/a"}))


# --- properties ----------------------------------------------------------------------------

LEAVES = [
    {"attribute": {"name": "total", "op": "gte", "value": 50}},
    {"attribute": {"name": "channel", "op": "eq", "value": "app"}},
    {"member": {"field": "tier", "op": "in", "value": ["gold"]}},
    {"time": {"field": "dayOfWeek", "op": "in", "value": ["sunday"]}},
    {"lineItems": {"of": "items", "measure": "count", "op": "gte", "value": 2}},
]
trees = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=8,
)
subjects = st.builds(
    subject,
    tier=st.sampled_from(["member", "gold"]),
    attributes=st.fixed_dictionaries(
        {"total": st.integers(0, 100), "channel": st.sampled_from(["web", "app"])}
    ),
    local_time=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
)


@given(trees, subjects)
def test_not_not_is_the_condition_itself(tree, s):
    assert compile_condition({"not": {"not": tree}})(s) == compile_condition(tree)(s)


@given(st.lists(trees, max_size=4), subjects)
def test_all_and_any_are_every_and_some(children, s):
    values = [compile_condition(c)(s) for c in children]
    assert compile_condition({"all": children})(s) == all(values)
    assert compile_condition({"any": children})(s) == any(values)


@given(trees, subjects)
def test_de_morgan(tree, s):
    other = LEAVES[0]
    left = compile_condition({"not": {"all": [tree, other]}})(s)
    right = compile_condition({"any": [{"not": tree}, {"not": other}]})(s)
    assert left == right


def test_all_of_nothing_is_true_and_any_of_nothing_is_false():
    assert compile_condition({"all": []})(subject())
    assert not compile_condition({"any": []})(subject())


@given(trees)
def test_every_generated_tree_passes_the_check(tree):
    assert check_condition(tree, schema=SCHEMA) == []
