"""Roles are declared on the fields, read from the schema, and printed in docs/api/roles.md."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.api.schema import schema
from app.api.shared.role_matrix import declared_fields, roles_markdown, undeclared_operations
from app.auth import Role
from app.cli import main
from tests.factories import bearer

ROOT = Path(__file__).resolve().parents[3]


def test_every_operation_declares_its_roles():
    assert undeclared_operations(schema) == []


def test_the_committed_role_matrix_matches_the_schema():
    assert (ROOT / "docs" / "api" / "roles.md").read_text() == roles_markdown(schema), (
        "docs/api/roles.md is stale: run `laurel roles` and commit it"
    )


def test_mutations_refuse_with_a_result_and_reads_with_an_error():
    # What docs/api/roles.md says of refusals, as the declarations have it.
    kinds = {(f.type_name, f.typed_refusal) for f in declared_fields(schema)}
    assert ("Mutation", False) not in kinds
    assert {t for t, typed in kinds if typed} == {"Mutation"}


def test_the_matrix_names_the_declared_roles():
    rows = {(f.type_name, f.field_name): f.who for f in declared_fields(schema)}
    assert rows[("Mutation", "awardPoints")] == "admin"
    assert rows[("Query", "seasons")] == "marketer, admin"
    assert rows[("Query", "tierLadder")] == "anyone (no token needed)"
    assert rows[("Query", "member")] == "member (itself only), marketer, admin, service"
    assert rows[("Member", "ledger")] == "member (itself only), marketer, admin, service"


def test_resolvers_do_not_check_roles_themselves():
    # Only a check that needs what the resolver read (the member behind an external id) may
    # stay in a body; every other role check is the field's declaration.
    calls = re.compile(r"\b(require_role|require_member_access|require_actor)\(")
    found = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app" / "api").rglob("*.py")
        if path.name != "permissions.py" and calls.search(path.read_text())
    )
    assert found == ["app/api/members/queries.py"]


def test_laurel_roles_writes_the_matrix_and_checks_it(tmp_path, capsys):
    # Given the matrix written by the command
    target = tmp_path / "roles.md"
    main(["roles", "--output", str(target)])

    # Then it is the schema's, and --check agrees until the file changes
    assert target.read_text() == roles_markdown(schema)
    main(["roles", "--output", str(target), "--check"])
    target.write_text(target.read_text().replace("| admin |", "| member |", 1))
    with pytest.raises(SystemExit, match="stale"):
        main(["roles", "--output", str(target), "--check"])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_declaration_is_checked_before_the_resolver_runs(app, settings):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as anonymous:
        # A page too large is the resolver's to refuse: an anonymous caller hears of its
        # token first.
        members = await anonymous.post(
            "/graphql", json={"query": "{ members(first: 100000) { pageInfo { hasNextPage } } }"}
        )
        # The member a field is about is read from its arguments before the role check: a
        # malformed id is bad input, whoever asks.
        member = await anonymous.post("/graphql", json={"query": '{ member(id: "nope") { id } }'})
    assert [e["extensions"]["code"] for e in members.json()["errors"]] == ["UNAUTHENTICATED"]
    assert [e["extensions"]["code"] for e in member.json()["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_refused_mutation_runs_nothing_and_returns_forbidden(app, settings):
    transport = httpx.ASGITransport(app=app)
    headers = bearer(settings, Role.SERVICE)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        # A malformed id would be a ValidationFailed from the resolver: the refusal comes first.
        response = await c.post(
            "/graphql",
            json={
                "query": 'mutation { archiveSeason(id: "nope") { __typename '
                "... on Forbidden { message requiredRoles } } }"
            },
        )
    assert response.json() == {
        "data": {
            "archiveSeason": {
                "__typename": "Forbidden",
                "message": "the service role may not do this (needs marketer, admin)",
                "requiredRoles": ["marketer", "admin"],
            }
        }
    }
