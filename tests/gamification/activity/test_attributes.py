"""Typed event attributes: a schema checked when declared, events checked against it."""

from __future__ import annotations

from gamification.activity.attributes import (
    AttributeSpec,
    AttributeType,
    check_attributes,
    check_schema,
)

SCHEMA = (
    AttributeSpec("total", AttributeType.MONEY, required=True),
    AttributeSpec("channel", AttributeType.STRING),
    AttributeSpec("gift", AttributeType.BOOLEAN),
    AttributeSpec("placedAt", AttributeType.DATETIME),
    AttributeSpec("items", AttributeType.LINE_ITEMS),
)


def test_good_attributes_pass():
    attributes = {
        "total": "59.90",
        "channel": "web",
        "gift": False,
        "placedAt": "2026-11-28T10:00:00+08:00",
        "items": [{"sku": "S1", "category": "shoes", "price": 59.9, "quantity": 1}],
    }
    assert check_attributes(SCHEMA, attributes) == []


def test_each_problem_names_the_attribute():
    attributes = {
        "total": "12.345",
        "channel": 7,
        "gift": "yes",
        "placedAt": "2026-11-28T10:00:00",
        "items": [{"sku": "S1", "category": "shoes", "price": -1, "quantity": 0, "size": 42}],
        "colour": "red",
    }

    problems = {p.field: p.message for p in check_attributes(SCHEMA, attributes)}

    assert set(problems) == {
        "attributes.colour",
        "attributes.total",
        "attributes.channel",
        "attributes.gift",
        "attributes.placedAt",
        "attributes.items[0].size",
        "attributes.items[0].price",
        "attributes.items[0].quantity",
    }
    assert problems["attributes.total"] == "must have at most 2 decimal places"


def test_a_required_attribute_must_be_there():
    assert [p.field for p in check_attributes(SCHEMA, {})] == ["attributes.total"]


def test_a_schema_refuses_bad_and_reserved_and_repeated_names():
    problems = check_schema(
        [
            AttributeSpec("Bad Name", AttributeType.STRING),
            AttributeSpec("amount", AttributeType.MONEY),
            AttributeSpec("total", AttributeType.MONEY),
            AttributeSpec("total", AttributeType.NUMBER),
        ]
    )
    assert [p.field for p in problems] == ["attributes", "attributes.amount", "attributes.total"]
