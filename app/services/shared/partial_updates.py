"""Partial updates of catalogue rows: the fields an update changes, checked and applied.

An ``update…`` mutation reads the fields its input carries (``given_changes`` in
app/api/shared/partial_updates.py, which refuses nulls); its use case wraps them in a
``PartialUpdate``, which refuses the fields that may not change, gives the record as it will
be for the domain's whole-record check, and writes the changes on the row. Problems name
the fields as the schema does (``startsAt``, not ``starts_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tortoise.models import Model

from app.services.shared.errors import InvalidInput
from gamification.shared.problems import api_field


class PartialUpdate:
    """The fields an update changes, by Python name; ``InvalidInput`` for the first one (in
    name order) that is not ``changeable``."""

    def __init__(
        self,
        changes: Mapping[str, Any],
        *,
        changeable: Iterable[str],
        refusal: str = "cannot be changed",
    ) -> None:
        unknown = sorted(set(changes) - set(changeable))
        if unknown:
            raise InvalidInput.single(api_field(unknown[0]), refusal)
        self.changeable = tuple(changeable)
        self.changes = dict(changes)

    def stripped(self, name: str) -> PartialUpdate:
        """The same update with the text of field ``name`` (when it changes) stripped."""
        value = self.changes.get(name)
        if not isinstance(value, str):
            return self
        return PartialUpdate({**self.changes, name: value.strip()}, changeable=self.changeable)

    def merged(self, row: Model, fields: Iterable[str]) -> dict[str, Any]:
        """``fields`` of ``row`` as the update leaves them: what a whole-record check reads."""
        return {name: getattr(row, name) for name in fields} | self.changes

    def apply(self, row: Model) -> list[str]:
        """Write the changes on ``row`` (unsaved); the names written, for ``update_fields``."""
        for name, value in self.changes.items():
            setattr(row, name, value)
        return list(self.changes)
