"""How domain rules report bad input: a list of problems, one per offending field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule an input breaks: which field (as the API names it), and what to do about it."""

    field: str
    message: str


def api_field(name: str) -> str:
    """The schema's name of an input field or argument given by its Python name
    (``starts_at`` -> ``startsAt``); a path keeps what follows its first segment
    (``value.code_prefix`` names a key inside the JSON ``value``, written as the schema
    documents it). Names already in camelCase are returned as they are."""
    head, sep, rest = name.partition(".")
    first, *others = head.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in others) + sep + rest
