"""GraphQL enums of the domain's Python enums, with a description for every value.

The domain's enums live in ``gamification/`` and ``app/models/``, which know nothing of
strawberry, so ``strawberry.enum_value`` cannot be written in them: the value descriptions
are given here, beside the GraphQL name, and one missing is an error at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def described_enum(cls: E, *, name: str, description: str, values: Mapping[str, str]) -> E:
    """``strawberry.enum(cls)`` with ``values`` (member name to description) on its values."""
    wrapped = strawberry.enum(cls, name=name, description=description)
    members = {member.name for member in cls}
    if set(values) != members:
        raise ValueError(f"{name}: describe exactly {sorted(members)}, not {sorted(values)}")
    by_value = {cls[member].value: text for member, text in values.items()}
    for value in wrapped.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = by_value[value.value]
    return wrapped
