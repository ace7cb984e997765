"""How domain rules report bad input: a list of problems, one per offending field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """A rule an input breaks: which field (as the API names it), and what to do about it."""

    field: str
    message: str
