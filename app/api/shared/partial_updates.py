"""Partial updates: the fields an update input carries, with its nulls checked.

Every ``update…`` mutation takes an input whose fields are all optional: a field left out
stays as it is, ``null`` clears it. Fields a record always has may be left out but not
cleared; this is the one place that refuses them, with problems named as the schema names
the fields (``startsAt``, not ``starts_at``). The use case then applies the changes with
``PartialUpdate`` (app/services/shared/partial_updates.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry import UNSET

from app.services.shared.errors import InvalidInput
from gamification.shared.problems import Problem, api_field


def given_changes(input: object, *, nullable: Iterable[str] = ()) -> dict[str, object]:
    """The fields ``input`` carries (by Python name); ``InvalidInput`` with a problem for
    each one set to null that is not ``nullable``."""
    changes = {name: value for name, value in vars(input).items() if value is not UNSET}
    optional = set(nullable)
    problems = [
        Problem(api_field(name), "cannot be null")
        for name, value in changes.items()
        if value is None and name not in optional
    ]
    if problems:
        raise InvalidInput(problems)
    return changes
