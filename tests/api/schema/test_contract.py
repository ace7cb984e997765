"""The committed contract: graphql/schema.graphql is current and every client operation
in graphql/operations/ is valid against the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from app.api.schema import schema
from app.cli import schema_sdl
from tests.operations import OPERATIONS_DIR, documents

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "graphql" / "schema.graphql"


def test_the_committed_sdl_matches_the_schema():
    assert SCHEMA_FILE.read_text() == schema_sdl(), (
        "graphql/schema.graphql is stale: run `make schema` and commit it"
    )


@pytest.mark.parametrize("path", sorted(OPERATIONS_DIR.glob("*.graphql")), ids=lambda p: p.name)
def test_every_client_operation_file_validates(path):
    errors = validate(schema._schema, parse(path.read_text()))
    assert errors == []


def test_the_operations_cover_every_root_field():
    used = set()
    for text in set(documents().values()):
        used |= {word for word in text.replace("(", " ").replace("{", " ").split()}
    roots = [
        *schema._schema.query_type.fields,
        *schema._schema.mutation_type.fields,
        *schema._schema.subscription_type.fields,
    ]
    assert [name for name in roots if name not in used] == []


def test_there_is_no_python_package_named_graphql():
    # It would shadow graphql-core, which strawberry imports.
    assert not (SCHEMA_FILE.parent / "__init__.py").exists()
