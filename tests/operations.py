"""The client operations in graphql/operations/, loaded by name for tests to send."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import OperationDefinitionNode, OperationType, parse

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "graphql" / "operations"


@cache
def documents() -> dict[str, str]:
    """Every operation name mapped to the full text of the file that defines it.

    The whole file is sent with ``operationName``, as a client would, so fragments the
    operation uses come along.
    """
    found: dict[str, str] = {}
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text()
        for definition in parse(text).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                name = definition.name.value
                assert name not in found, f"operation {name} is defined twice"
                found[name] = text
    return found


@cache
def subscriptions() -> frozenset[str]:
    """The names of the subscription operations (they run over WebSocket, not HTTP)."""
    return frozenset(
        definition.name.value
        for text in set(documents().values())
        for definition in parse(text).definitions
        if isinstance(definition, OperationDefinitionNode)
        and definition.name
        and definition.operation is OperationType.SUBSCRIPTION
    )


def payload(name: str, **variables: object) -> dict[str, object]:
    return {"query": documents()[name], "operationName": name, "variables": variables}
