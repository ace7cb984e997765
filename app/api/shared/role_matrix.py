"""The role matrix: who may call each operation, read from the roles declared on the fields.

``docs/api/roles.md`` is this matrix as Markdown, written by ``laurel roles`` and checked
against the schema by a test (like the SDL snapshot): the docs cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from graphql import GraphQLObjectType

from app.api.shared.permissions import DeclaredRoles

ROOTS = ("Query", "Mutation", "Subscription")


@dataclass(frozen=True, slots=True)
class DeclaredField:
    type_name: str
    field_name: str
    who: str  # e.g. "marketer, admin"
    typed_refusal: bool  # a Forbidden result (True) or a FORBIDDEN error


def declaration(schema: strawberry.Schema, type_name: str, field_name: str) -> DeclaredRoles | None:
    """The roles declared on one field of the schema, if any."""
    graphql_type = schema._schema.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType), type_name
    # Introspection's own types (__Schema, ...) have no strawberry field behind them.
    field = graphql_type.fields[field_name].extensions.get("strawberry-definition")
    found = [e for e in getattr(field, "extensions", ()) if isinstance(e, DeclaredRoles)]
    return found[0] if found else None


def _order(graphql_type: GraphQLObjectType) -> tuple[int, str]:
    return (
        ROOTS.index(graphql_type.name) if graphql_type.name in ROOTS else len(ROOTS),
        graphql_type.name,
    )


def declared_fields(schema: strawberry.Schema) -> list[DeclaredField]:
    """Every field that declares its roles: the root types first, then the others, each
    sorted by name."""
    types = [t for t in schema._schema.type_map.values() if isinstance(t, GraphQLObjectType)]
    found = []
    for graphql_type in sorted(types, key=_order):
        for field_name in sorted(graphql_type.fields):
            declared = declaration(schema, graphql_type.name, field_name)
            if declared is not None:
                found.append(
                    DeclaredField(
                        type_name=graphql_type.name,
                        field_name=field_name,
                        who=declared.permission.describe(),
                        typed_refusal=declared.typed,
                    )
                )
    return found


def undeclared_operations(schema: strawberry.Schema) -> list[str]:
    """Root fields that declare no roles (there should be none)."""
    missing = []
    for root in ROOTS:
        graphql_type = schema._schema.get_type(root)
        if isinstance(graphql_type, GraphQLObjectType):
            missing += [
                f"{root}.{name}"
                for name in graphql_type.fields
                if declaration(schema, root, name) is None
            ]
    return missing


INTRODUCTION = """\
# Who may call what

Every query, mutation and subscription declares on its field the roles that may call it
(`app/api/shared/permissions.py`); this page is that declaration, read from the schema by
`laurel roles` (a test fails when it is stale: run `laurel roles` and commit the result).

A caller without a token gets an UNAUTHENTICATED error. A signed-in caller without one of
the roles gets a `Forbidden` result where the field's result can be one (every mutation),
a FORBIDDEN error elsewhere. "member (itself only)": a member token may use the field only
on its own member; another member is FORBIDDEN.
"""


def roles_markdown(schema: strawberry.Schema) -> str:
    """The role matrix as Markdown: one table per type, its fields sorted by name."""
    lines = [INTRODUCTION]
    by_type: dict[str, list[DeclaredField]] = {}
    for field in declared_fields(schema):
        by_type.setdefault(field.type_name, []).append(field)
    for type_name, fields in by_type.items():
        heading = type_name if type_name in ROOTS else f"Fields of {type_name}"
        lines += [f"## {heading}", "", "| Field | Roles | A refused caller gets |", "|---|---|---|"]
        for f in fields:
            refusal = "a `Forbidden` result" if f.typed_refusal else "a FORBIDDEN error"
            if f.who.startswith("anyone"):
                refusal = "-"
            lines.append(f"| `{f.field_name}` | {f.who} | {refusal} |")
        lines.append("")
    return "\n".join(lines)
