"""The mutations' shared failures (app/api/shared/results.py), as a client sees them over HTTP: a
refusal is a Forbidden result, a service's InvalidInput, NotFound and IdempotencyConflict
are ValidationFailed, NotFound and IdempotencyConflict; an anonymous caller gets an error."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

import pytest
import strawberry
from strawberry.types import Info

from app.api.shared.errors import ForbiddenType, ValidationFailed
from app.api.shared.ids import encode_id
from app.api.shared.permissions import require_member_access
from app.api.shared.results import typed_failures
from app.auth import Principal, Role
from app.models import AuditEntry, Event, PointsLedgerEntry, Reward
from tests import factories
from tests.factories import graphql

AWARD = """
mutation Award($memberId: ID!, $amount: Int! = 5, $key: String! = "goodwill-1") {
  awardPoints(memberId: $memberId, amount: $amount, reason: "Goodwill", idempotencyKey: $key) {
    __typename
    ... on Forbidden { message requiredRoles }
    ... on ValidationFailed { message problems { field message } }
    ... on NotFound { message kind id }
  }
}
"""

RECORD = """
mutation Record($input: RecordEventInput!) {
  recordEvent(input: $input) {
    __typename
    ... on EventRecorded { pointsAwarded }
    ... on Forbidden { message requiredRoles }
    ... on NotFound { message kind id }
    ... on IdempotencyConflict { message idempotencyKey }
  }
}
"""

UPDATE_REWARD = """
mutation Update($id: ID!) {
  updateReward(id: $id, input: {name: "Mug"}) {
    __typename
    ... on Forbidden { message requiredRoles }
    ... on NotFound { message kind id }
  }
}
"""


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (Role.MARKETER, "the marketer role may not do this (needs admin)"),
        (Role.SERVICE, "the service role may not do this (needs admin)"),
    ],
)
async def test_a_signed_in_caller_without_the_role_gets_forbidden_and_nothing_is_written(
    client_as, role, message
):
    member = await factories.member()
    c = await client_as(role)

    body = await graphql(c, AWARD, {"memberId": encode_id("Member", member.id)})

    assert body == {
        "data": {
            "awardPoints": {
                "__typename": "Forbidden",
                "message": message,
                "requiredRoles": ["admin"],
            }
        }
    }
    assert await PointsLedgerEntry.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_a_member_reporting_activity_is_told_which_roles_may(client_as):
    member = await factories.member()
    c = await client_as(Role.MEMBER, member)

    body = await graphql(
        c,
        RECORD,
        {
            "input": {
                "memberId": encode_id("Member", member.id),
                "type": "check_in",
                "occurredAt": factories.now().isoformat(),
                "idempotencyKey": "self-reported",
            }
        },
    )

    assert body["data"]["recordEvent"] == {
        "__typename": "Forbidden",
        "message": "the member role may not do this (needs service, admin)",
        "requiredRoles": ["service", "admin"],
    }
    assert "errors" not in body
    assert await Event.all().count() == 0


async def test_an_anonymous_caller_is_told_to_sign_in_with_an_error(client_as):
    member = await factories.member()
    c = await client_as(None)

    body = await graphql(c, AWARD, {"memberId": encode_id("Member", member.id)})

    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["message"] == "sign in: send an Authorization: Bearer <token> header"
    assert error["path"] == ["awardPoints"]
    assert await PointsLedgerEntry.all().count() == 0


async def test_invalid_input_from_a_service_is_validation_failed(client):
    member = await factories.member()

    body = await graphql(client, AWARD, {"memberId": encode_id("Member", member.id), "amount": 0})

    assert body == {
        "data": {
            "awardPoints": {
                "__typename": "ValidationFailed",
                "message": "amount: must be a positive number of points",
                "problems": [{"field": "amount", "message": "must be a positive number of points"}],
            }
        }
    }
    assert await PointsLedgerEntry.all().count() == 0


async def test_a_missing_thing_is_not_found_under_its_id(client):
    missing = encode_id("Reward", 424242)

    body = await graphql(client, UPDATE_REWARD, {"id": missing})

    assert body == {
        "data": {
            "updateReward": {
                "__typename": "NotFound",
                "message": f"Reward {missing} does not exist",
                "kind": "Reward",
                "id": missing,
            }
        }
    }
    assert await Reward.all().count() == 0


async def test_a_missing_thing_named_by_a_key_is_not_found_under_that_key(client):
    await factories.ladder()

    body = await graphql(
        client,
        RECORD,
        {
            "input": {
                "externalMemberId": "crm-nobody",
                "type": "check_in",
                "occurredAt": factories.now().isoformat(),
                "idempotencyKey": "ev-nobody",
            }
        },
    )

    assert body == {
        "data": {
            "recordEvent": {
                "__typename": "NotFound",
                "message": "Member crm-nobody does not exist",
                "kind": "Member",
                "id": "crm-nobody",
            }
        }
    }


async def test_a_reused_idempotency_key_is_an_idempotency_conflict(client):
    member = await factories.member()
    first = {
        "memberId": encode_id("Member", member.id),
        "type": "purchase",
        "amount": "20",
        "occurredAt": factories.now().isoformat(),
        "idempotencyKey": "order-7",
    }
    await graphql(client, RECORD, {"input": first})

    body = await graphql(client, RECORD, {"input": {**first, "amount": "30"}})

    assert body == {
        "data": {
            "recordEvent": {
                "__typename": "IdempotencyConflict",
                "message": "idempotency key 'order-7' was already used for a different "
                "request; use a new key for a new request",
                "idempotencyKey": "order-7",
            }
        }
    }
    assert await Event.all().count() == 1


# The decorator on its own, with a schema of its own: what it leaves alone and keeps.

Outcome = Annotated[ValidationFailed | ForbiddenType, strawberry.union("Outcome")]


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Mutation:
    @strawberry.mutation
    @typed_failures
    async def touch(self, info: Info, member_pk: int, note: str = "") -> Outcome:
        require_member_access(info, member_pk)
        if note == "boom":
            raise RuntimeError("a bug, not a failure")
        return ValidationFailed.single("note", note or "empty")


standalone = strawberry.Schema(query=Query, mutation=Mutation)


def test_strawberry_sees_the_resolvers_own_signature_through_the_decorator():
    field = standalone._schema.mutation_type.fields["touch"]

    assert list(field.args) == ["memberPk", "note"]
    assert str(field.args["note"].type) == "String!"
    assert field.args["note"].default_value == ""
    assert str(field.type) == "Outcome!"


async def test_a_member_acting_on_another_member_is_forbidden_and_a_bug_still_raises():
    as_member_1 = SimpleNamespace(principal=Principal(subject="m", role=Role.MEMBER, member_id=1))
    query = 'mutation($pk: Int!, $note: String! = "") { touch(memberPk: $pk, note: $note) {'
    query += " __typename ... on Forbidden { message requiredRoles } } }"

    other = await standalone.execute(query, {"pk": 2}, context_value=as_member_1)
    bug = await standalone.execute(query, {"pk": 1, "note": "boom"}, context_value=as_member_1)

    assert other.errors is None
    assert other.data == {
        "touch": {
            "__typename": "Forbidden",
            "message": "a member may only read and act on itself",
            "requiredRoles": ["marketer", "admin", "service"],
        }
    }
    assert bug.data is None
    assert [str(e.message) for e in bug.errors] == ["a bug, not a failure"]
