"""Conditions of earning rules: Laurel's condition tree, checked when saved, compiled once.

A condition is JSON, one key per node (the node's kind):

- ``{"all": [c, ...]}`` (true when every one holds; ``all`` of nothing is true),
  ``{"any": [c, ...]}`` (true when one holds; ``any`` of nothing is false), ``{"not": c}``;
- ``{"attribute": {"name": "total", "op": "gte", "value": 50}}``: an event attribute
  (``amount`` names the event's amount);
- ``{"lineItems": {"of": "items", "where": [{"field": "category", "op": "eq", "value":
  "shoes"}], "measure": "sum", "op": "gte", "value": 50}}``: the line items matching
  ``where`` (all of its tests) — ``any`` / ``all`` of them (no op), or their ``count``,
  ``quantity`` or ``sum`` (price x quantity) compared with ``value``;
- ``{"member": {"field": "tier", "op": "in", "value": ["gold"]}}``: ``tier`` (code),
  ``birthdayMonth`` (1-12), ``inBirthdayMonth`` (the event falls in it), ``daysSinceSignup``,
  ``pointsBalance``;
- ``{"time": {"field": "dayOfWeek", "op": "in", "value": ["saturday", "sunday"]}}``: when
  the event occurred in the member's time zone: ``dayOfWeek``, ``hour`` (0-23), ``date``
  (ISO day).

:func:`check_condition` lists every problem with the path of its node
(``condition.all[1].attribute.value``); :func:`compile_condition` turns a checked tree into
nested closures, so evaluating one is a few function calls. Nothing is ever ``eval``-ed,
and a tree is bounded (:data:`MAX_NODES` nodes, :data:`MAX_DEPTH` levels, lists of at
most :data:`MAX_LIST` values), so an evaluation's cost is bounded too.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gamification.activity.attributes import (
    LINE_ITEM_FIELDS,
    AttributeSpec,
    AttributeType,
    LineItem,
    as_moment,
    as_number,
    line_items,
)
from gamification.shared.problems import Problem

MAX_NODES = 50
MAX_DEPTH = 8
MAX_LIST = 50

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
COMPARISONS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
OPS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "string": frozenset({"eq", "ne", "in", "notIn", "exists"}),
    "number": COMPARISONS | {"in", "notIn", "exists"},
    "boolean": frozenset({"eq", "ne", "exists"}),
    "datetime": frozenset({"gt", "gte", "lt", "lte", "exists"}),
    "line_items": frozenset({"exists"}),
    "any": COMPARISONS | {"in", "notIn", "exists"},  # an attribute no schema types
    "day": COMPARISONS | {"in", "notIn"},
    "weekday": frozenset({"eq", "ne", "in", "notIn"}),
}
MEMBER_FIELDS: Mapping[str, str] = {
    "tier": "string",
    "birthdayMonth": "number",
    "inBirthdayMonth": "boolean",
    "daysSinceSignup": "number",
    "pointsBalance": "number",
}
TIME_FIELDS: Mapping[str, str] = {"dayOfWeek": "weekday", "hour": "number", "date": "day"}
MEASURES = frozenset({"any", "all", "count", "quantity", "sum"})
KINDS = ("all", "any", "not", "attribute", "lineItems", "member", "time")


@dataclass(frozen=True, slots=True)
class Subject:
    """What a condition looks at: one event, the member as it stood, and when (local)."""

    amount: Decimal
    attributes: Mapping[str, Any]
    local_time: datetime  # when the event occurred, in the member's time zone
    tier: str
    birthday: date | None
    joined_at: datetime
    points_balance: int
    # What rules read of the attributes, parsed once per event however many rules read it.
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def items(self, of: str) -> tuple[LineItem, ...]:
        key = ("items", of)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = line_items(self.attributes.get(of))
        return found


Predicate = Callable[[Subject], bool]


# --- checking ------------------------------------------------------------------------------


def check_condition(
    tree: Any, *, schema: Sequence[AttributeSpec] | None, path: str = "condition"
) -> list[Problem]:
    """Everything wrong with a condition tree, each problem at the path of its node.
    ``schema`` is the event type's attribute schema (None: attributes are untyped)."""
    problems: list[Problem] = []
    counter = [0]
    _check(tree, schema, path, 1, counter, problems)
    if counter[0] > MAX_NODES:
        problems.insert(0, Problem(path, f"must have at most {MAX_NODES} nodes"))
    return problems


def _check(
    node: Any,
    schema: Sequence[AttributeSpec] | None,
    path: str,
    depth: int,
    counter: list[int],
    problems: list[Problem],
) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        return
    if depth > MAX_DEPTH:
        problems.append(Problem(path, f"must be nested at most {MAX_DEPTH} levels deep"))
        return
    if not isinstance(node, dict) or len(node) != 1:
        problems.append(Problem(path, f"must be an object with exactly one of {', '.join(KINDS)}"))
        return
    ((kind, body),) = node.items()
    at = f"{path}.{kind}"
    if kind not in KINDS:
        problems.append(Problem(path, f"{kind!r} is not one of {', '.join(KINDS)}"))
    elif kind in ("all", "any"):
        if not isinstance(body, list):
            problems.append(Problem(at, "must be a list of conditions"))
            return
        for index, child in enumerate(body):
            _check(child, schema, f"{at}[{index}]", depth + 1, counter, problems)
    elif kind == "not":
        _check(body, schema, at, depth + 1, counter, problems)
    elif not isinstance(body, dict):
        problems.append(Problem(at, "must be an object"))
    elif kind == "attribute":
        _check_attribute(body, schema, at, problems)
    elif kind == "lineItems":
        _check_line_items(body, schema, at, problems)
    elif kind == "member":
        _check_field(body, MEMBER_FIELDS, at, problems)
    else:
        _check_field(body, TIME_FIELDS, at, problems)


def _unknown_keys(
    body: Mapping[str, Any], allowed: set[str], at: str, problems: list[Problem]
) -> bool:
    extra = sorted(set(body) - allowed)
    for key in extra:
        problems.append(Problem(f"{at}.{key}", "is not a field of this condition"))
    return bool(extra)


def _check_attribute(
    body: Mapping[str, Any],
    schema: Sequence[AttributeSpec] | None,
    at: str,
    problems: list[Problem],
) -> None:
    if _unknown_keys(body, {"name", "op", "value"}, at, problems):
        return
    name = body.get("name")
    if not isinstance(name, str) or not name:
        problems.append(Problem(f"{at}.name", "must name an attribute"))
        return
    kind = _attribute_type(name, schema)
    if kind is None:
        problems.append(Problem(f"{at}.name", f"{name!r} is not an attribute of the event type"))
        return
    _check_comparison(body, kind, at, problems)


def _attribute_type(name: str, schema: Sequence[AttributeSpec] | None) -> str | None:
    if name == "amount":
        return "number"
    if schema is None:
        return "any"
    spec = next((s for s in schema if s.name == name), None)
    if spec is None:
        return None
    return {
        AttributeType.STRING: "string",
        AttributeType.NUMBER: "number",
        AttributeType.MONEY: "number",
        AttributeType.BOOLEAN: "boolean",
        AttributeType.DATETIME: "datetime",
        AttributeType.LINE_ITEMS: "line_items",
    }[spec.type]


def _check_field(
    body: Mapping[str, Any], fields: Mapping[str, str], at: str, problems: list[Problem]
) -> None:
    if _unknown_keys(body, {"field", "op", "value"}, at, problems):
        return
    field = body.get("field")
    if not isinstance(field, str) or field not in fields:
        problems.append(Problem(f"{at}.field", f"must be one of {', '.join(fields)}"))
        return
    _check_comparison(body, fields[field], at, problems)


def _check_comparison(body: Mapping[str, Any], kind: str, at: str, problems: list[Problem]) -> None:
    op = body.get("op")
    allowed = OPS_BY_TYPE[kind]
    if op not in allowed:
        problems.append(Problem(f"{at}.op", f"must be one of {', '.join(sorted(allowed))}"))
        return
    if op == "exists":
        if "value" in body:
            problems.append(Problem(f"{at}.value", "must not be given with exists"))
        return
    if "value" not in body:
        problems.append(Problem(f"{at}.value", "is required"))
        return
    value = body["value"]
    if op in ("in", "notIn"):
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            problems.append(Problem(f"{at}.value", f"must be a list of 1 to {MAX_LIST} values"))
            return
        for item in value:
            message = _value_problem(kind, item)
            if message:
                problems.append(Problem(f"{at}.value", message))
                return
        return
    message = _value_problem(kind, value)
    if message:
        problems.append(Problem(f"{at}.value", message))


def _value_problem(kind: str, value: Any) -> str | None:
    if kind == "string":
        return None if isinstance(value, str) else "must be a string"
    if kind == "number":
        return None if as_number(value) is not None else "must be a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "datetime":
        return None if as_moment(value) is not None else "must be a date and time with an offset"
    if kind == "day":
        return None if _as_day(value) is not None else "must be a date, e.g. 2026-12-24"
    if kind == "weekday":
        return None if value in DAYS else f"must be one of {', '.join(DAYS)}"
    if kind == "any":
        if isinstance(value, bool | str) or as_number(value) is not None:
            return None
        return "must be a string, a number or a boolean"
    return "cannot be compared"  # pragma: no cover - line_items only allow exists


def _check_line_items(
    body: Mapping[str, Any],
    schema: Sequence[AttributeSpec] | None,
    at: str,
    problems: list[Problem],
) -> None:
    if _unknown_keys(body, {"of", "where", "measure", "op", "value"}, at, problems):
        return
    of = body.get("of")
    if not isinstance(of, str) or _attribute_type(of, schema) not in ("line_items", "any"):
        problems.append(Problem(f"{at}.of", "must name a line items attribute"))
    where = body.get("where", [])
    if not isinstance(where, list) or len(where) > MAX_LIST:
        problems.append(Problem(f"{at}.where", f"must be a list of at most {MAX_LIST} tests"))
    else:
        for index, test in enumerate(where):
            here = f"{at}.where[{index}]"
            if not isinstance(test, dict):
                problems.append(Problem(here, "must be an object of field, op and value"))
                continue
            item_fields = {
                name: "number" if kind is not AttributeType.STRING else "string"
                for name, kind in LINE_ITEM_FIELDS.items()
            }
            _check_field(test, item_fields, here, problems)
    measure = body.get("measure")
    if measure not in MEASURES:
        problems.append(Problem(f"{at}.measure", f"must be one of {', '.join(sorted(MEASURES))}"))
    elif measure in ("any", "all"):
        for key in ("op", "value"):
            if key in body:
                problems.append(Problem(f"{at}.{key}", f"must not be given with {measure}"))
    else:
        op = body.get("op")
        if op not in COMPARISONS:
            problems.append(Problem(f"{at}.op", f"must be one of {', '.join(sorted(COMPARISONS))}"))
        elif as_number(body.get("value")) is None:
            problems.append(Problem(f"{at}.value", "must be a number"))


def _as_day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# --- compiling -----------------------------------------------------------------------------


def compile_condition(tree: Mapping[str, Any] | None) -> Predicate:
    """A checked tree (see :func:`check_condition`) as one callable; None: always true.

    Its answer for an event is kept with the event's subject under the tree's canonical
    JSON, so rules that share a condition (or a part of one: every leaf is kept too)
    evaluate it once per event."""
    if tree is None:
        return _always
    return _memoized(tree, _compile(tree))


def _memoized(tree: Mapping[str, Any], predicate: Predicate) -> Predicate:
    key = ("condition", json.dumps(tree, sort_keys=True, separators=(",", ":"), default=str))

    def memoized(s: Subject) -> bool:
        memo = s._memo
        found = memo.get(key)
        if found is None:
            found = memo[key] = predicate(s)
        return found

    return memoized


def _compile(tree: Mapping[str, Any]) -> Predicate:
    ((kind, body),) = tree.items()
    if kind == "all":
        parts = tuple(compile_condition(child) for child in body)
        return lambda s: all(p(s) for p in parts)
    if kind == "any":
        parts = tuple(compile_condition(child) for child in body)
        return lambda s: any(p(s) for p in parts)
    if kind == "not":
        inner = compile_condition(body)
        return lambda s: not inner(s)
    if kind == "attribute":
        return _memoized(tree, _compile_attribute(body))
    if kind == "lineItems":
        return _memoized(tree, _compile_line_items(body))
    if kind == "member":
        return _memoized(tree, _compile_member(body))
    if kind == "time":
        return _memoized(tree, _compile_time(body))
    raise ValueError(f"unchecked condition node {kind!r}")


def _always(subject: Subject) -> bool:
    return True


Test = Callable[[Any], bool]


def _comparison(op: str, value: Any, read: Callable[[Any], Any]) -> Test:
    """A test of one raw value against the node's operand. A value that is missing or
    cannot be read as the operand's type makes every test false (``ne`` and ``notIn``
    included): a rule never fires on what it cannot see."""
    if op == "exists":
        return lambda v: v is not None
    compare = _compare(op, value, read)

    def test(raw: Any) -> bool:
        return False if raw is None else compare(read(raw))

    return test


def _compare(op: str, value: Any, read: Callable[[Any], Any]) -> Test:
    """A test of a value already read (None: missing or unreadable) against the operand."""
    if op == "exists":
        return lambda got: got is not None
    if op in ("in", "notIn"):
        operands = frozenset(read(x) for x in value)
        if op == "in":
            return lambda got: got is not None and got in operands
        return lambda got: got is not None and got not in operands
    target = read(value)
    compare = _OPERATORS[op]

    def test(got: Any) -> bool:
        if got is None:
            return False
        try:
            return bool(compare(got, target))
        except TypeError:  # an untyped attribute holding a string, compared with a number
            return False

    return test


_OPERATORS: Mapping[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _reader_kind(value: Any) -> str:
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, str):
        return "datetime" if as_moment(sample) is not None else "string"
    return "number"


def _reader_for(value: Any) -> Callable[[Any], Any]:
    """How to read values compared with ``value`` (the operand decides, so an untyped
    attribute "59.90" compares with 50 as a number)."""
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return lambda v: v if isinstance(v, bool) else None
    if isinstance(sample, str):
        if as_moment(sample) is not None:
            return _moment
        return lambda v: v if isinstance(v, str) else None
    return as_number


def _moment(value: Any) -> datetime | None:
    return as_moment(value)


def _compile_attribute(body: Mapping[str, Any]) -> Predicate:
    name = body["name"]
    op = body["op"]
    if op == "exists":
        if name == "amount":
            return _always
        return lambda s: s.attributes.get(name) is not None
    value = body.get("value")
    read = _reader_for(value)
    compare = _compare(op, value, read)
    if name == "amount":
        return lambda s: compare(read(s.amount))
    kind = ("attribute", name, _reader_kind(value))

    def test(s: Subject) -> bool:
        # Each attribute is read once per event and reader, however many rules test it.
        memo = s._memo
        if kind in memo:
            return compare(memo[kind])
        raw = s.attributes.get(name)
        got = memo[kind] = None if raw is None else read(raw)
        return compare(got)

    return test


def _compile_line_items(body: Mapping[str, Any]) -> Predicate:
    of = body["of"]
    tests = tuple(
        (t["field"], _comparison(t["op"], t.get("value"), _reader_for(t.get("value"))))
        for t in body.get("where", [])
    )
    measure = body["measure"]

    def matching(s: Subject) -> list[LineItem]:
        return [
            item for item in s.items(of) if all(test(getattr(item, name)) for name, test in tests)
        ]

    if measure == "any":
        return lambda s: bool(matching(s))
    if measure == "all":

        def every(s: Subject) -> bool:
            items = s.items(of)
            return bool(items) and len(matching(s)) == len(items)

        return every
    compare = _comparison(body["op"], body["value"], as_number)
    measures: dict[str, Callable[[list[LineItem]], Decimal]] = {
        "count": lambda items: Decimal(len(items)),
        "quantity": lambda items: Decimal(sum(i.quantity for i in items)),
        "sum": lambda items: sum((i.value for i in items), Decimal(0)),
    }
    of_items = measures[measure]
    return lambda s: compare(of_items(matching(s)))


def _compile_member(body: Mapping[str, Any]) -> Predicate:
    field = body["field"]
    test = _comparison(body["op"], body.get("value"), _reader_for(body.get("value")))
    readers: dict[str, Callable[[Subject], Any]] = {
        "tier": lambda s: s.tier,
        "birthdayMonth": lambda s: s.birthday.month if s.birthday else None,
        "inBirthdayMonth": lambda s: (
            s.birthday.month == s.local_time.month if s.birthday else False
        ),
        "daysSinceSignup": lambda s: (s.local_time - s.joined_at).days,
        "pointsBalance": lambda s: s.points_balance,
    }
    read = readers[field]
    return lambda s: test(read(s))


def _compile_time(body: Mapping[str, Any]) -> Predicate:
    field = body["field"]
    op = body["op"]
    value = body.get("value")
    if field == "dayOfWeek":
        test = _comparison(op, value, lambda v: v if v in DAYS else None)
        return lambda s: test(DAYS[s.local_time.weekday()])
    if field == "hour":
        test = _comparison(op, value, as_number)
        return lambda s: test(s.local_time.hour)
    test = _comparison(op, value, _as_day)
    return lambda s: test(s.local_time.date().isoformat())
