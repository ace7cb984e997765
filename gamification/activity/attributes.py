"""Typed event attributes: the schema an event type declares, and events checked against it.

An event type may declare what its events' ``attributes`` hold, e.g. a purchase's
``total`` (money), ``channel`` (string) and ``items`` (line items). Events of a type with a
schema are refused when an attribute is missing, of the wrong type or not declared; events
of a type without one keep any JSON object (as before schemas existed).

The stored schema is a JSON list, one entry per attribute:
``[{"name": "total", "type": "money", "required": true}, ...]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from gamification.shared.problems import Problem

ATTRIBUTE_NAME = re.compile(r"^[a-z][a-zA-Z0-9_]{0,31}$")
MAX_ATTRIBUTES = 30
MAX_LINE_ITEMS = 100
MAX_STRING_LENGTH = 200
# Conditions name the event's own amount "amount": no attribute may take the name.
RESERVED_NAMES = frozenset({"amount"})


class AttributeType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    MONEY = "money"  # a decimal with at most 2 places, not negative
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # ISO 8601 with an offset
    LINE_ITEMS = "line_items"  # a list of {sku, category, price, quantity}


# The fields of one line item and their types (sku and category strings, price money,
# quantity a whole number of at least 1).
LINE_ITEM_FIELDS: Mapping[str, AttributeType] = {
    "sku": AttributeType.STRING,
    "category": AttributeType.STRING,
    "price": AttributeType.MONEY,
    "quantity": AttributeType.NUMBER,
}


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    name: str
    type: AttributeType
    required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "required": self.required}


@dataclass(frozen=True, slots=True)
class LineItem:
    sku: str
    category: str
    price: Decimal
    quantity: int

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity


def schema_from_json(
    stored: Sequence[Mapping[str, Any]] | None,
) -> tuple[AttributeSpec, ...] | None:
    """The stored schema as specs (None: the type declares none)."""
    if stored is None:
        return None
    return tuple(
        AttributeSpec(s["name"], AttributeType(s["type"]), bool(s.get("required", False)))
        for s in stored
    )


def check_schema(specs: Sequence[AttributeSpec]) -> list[Problem]:
    """Everything wrong with a schema an event type is given. Problems name an attribute
    as ``attributes.<name>`` when its name is sound, else ``attributes``."""
    problems: list[Problem] = []
    if len(specs) > MAX_ATTRIBUTES:
        problems.append(Problem("attributes", f"must declare at most {MAX_ATTRIBUTES}"))
    seen: set[str] = set()
    for spec in specs:
        if not ATTRIBUTE_NAME.match(spec.name):
            problems.append(
                Problem(
                    "attributes",
                    f"{spec.name!r}: a name is 1-32 letters, digits and _, "
                    "starting with a lowercase letter",
                )
            )
        elif spec.name in RESERVED_NAMES:
            problems.append(Problem(f"attributes.{spec.name}", "is reserved for the amount"))
        elif spec.name in seen:
            problems.append(Problem(f"attributes.{spec.name}", "is declared twice"))
        seen.add(spec.name)
    return problems


def check_attributes(
    schema: Sequence[AttributeSpec], attributes: Mapping[str, Any]
) -> list[Problem]:
    """Everything wrong with an event's attributes against its type's schema, each problem
    naming the attribute (``attributes.total``, ``attributes.items[2].price``)."""
    problems: list[Problem] = []
    declared = {spec.name: spec for spec in schema}
    for name in attributes:
        if name not in declared:
            problems.append(Problem(f"attributes.{name}", "is not an attribute of this event type"))
    for spec in schema:
        field = f"attributes.{spec.name}"
        if spec.name not in attributes or attributes[spec.name] is None:
            if spec.required:
                problems.append(Problem(field, f"is required ({spec.type.value})"))
            continue
        value = attributes[spec.name]
        if spec.type is AttributeType.LINE_ITEMS:
            _check_line_items(field, value, problems)
        else:
            message = _type_problem(spec.type, value)
            if message:
                problems.append(Problem(field, message))
    return problems


def _check_line_items(field: str, value: Any, problems: list[Problem]) -> None:
    if not isinstance(value, list):
        problems.append(Problem(field, "must be a list of line items"))
        return
    if len(value) > MAX_LINE_ITEMS:
        problems.append(Problem(field, f"must hold at most {MAX_LINE_ITEMS} items"))
        return
    for index, item in enumerate(value):
        at = f"{field}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(at, "must be an object of sku, category, price, quantity"))
            continue
        for key in item:
            if key not in LINE_ITEM_FIELDS:
                problems.append(Problem(f"{at}.{key}", "is not a line item field"))
        for key, kind in LINE_ITEM_FIELDS.items():
            if key not in item:
                problems.append(Problem(f"{at}.{key}", "is required"))
                continue
            message = _type_problem(kind, item[key])
            if (
                message is None
                and key == "quantity"
                and not (isinstance(item[key], int) and item[key] >= 1)
            ):
                message = "must be a whole number of at least 1"
            if message:
                problems.append(Problem(f"{at}.{key}", message))


def _type_problem(kind: AttributeType, value: Any) -> str | None:
    """Why ``value`` is not of ``kind`` (None when it is)."""
    if kind is AttributeType.STRING:
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > MAX_STRING_LENGTH:
            return f"must be at most {MAX_STRING_LENGTH} characters"
        return None
    if kind is AttributeType.BOOLEAN:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is AttributeType.NUMBER:
        number = as_number(value)
        return None if number is not None else "must be a number"
    if kind is AttributeType.MONEY:
        number = as_number(value)
        if number is None:
            return "must be an amount of money, e.g. 59.90"
        if number < 0:
            return "must not be negative"
        if number != number.quantize(Decimal("0.01")):
            return "must have at most 2 decimal places"
        return None
    if kind is AttributeType.DATETIME:
        moment = as_moment(value)
        return None if moment is not None else "must be an ISO 8601 date and time with an offset"
    return "is a list of line items"  # pragma: no cover - handled by the caller


def as_number(value: Any) -> Decimal | None:
    """A JSON number (or a decimal string, as money is often sent) as a Decimal; None for
    anything else (booleans included, which Python counts as ints)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def as_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def line_items(value: Any) -> tuple[LineItem, ...]:
    """The line items of an attribute value, skipping any that are not well formed (an event
    type without a schema accepts anything; a rule then sees only what it can read)."""
    if not isinstance(value, list):
        return ()
    items = []
    for raw in value:
        if not isinstance(raw, dict):
            continue
        price = as_number(raw.get("price"))
        quantity = as_number(raw.get("quantity", 1))
        if price is None or quantity is None:
            continue
        items.append(
            LineItem(
                sku=str(raw.get("sku", "")),
                category=str(raw.get("category", "")),
                price=price,
                quantity=int(quantity),
            )
        )
    return tuple(items)
