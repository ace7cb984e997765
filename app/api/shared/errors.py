"""Typed failures shared by every mutation, and the errors raised for bad queries and refusals."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from graphql import GraphQLError

from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberInactive,
    MemberMergedAway,
    NotFound,
)


class ClientError(GraphQLError):
    """An error about the request itself, shown to clients even in production."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


def is_client_error(error: GraphQLError) -> bool:
    """True for an error about the request itself: a parse or validation error (no
    original error), a variable that does not coerce (a GraphQL error from graphql-core's
    coercion) or one of our ClientErrors. Anything else is a fault of ours: masked in
    production and logged with its traceback."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


class UserInputError(ClientError):
    """Bad arguments to a query field."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        if field:
            super().__init__(message, field=field)
        else:
            super().__init__(message)


class Unauthenticated(ClientError):
    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    """A signed-in caller may not do this: an error in a query, a ``Forbidden`` result in a
    mutation."""

    code = "FORBIDDEN"

    def __init__(self, message: str, *, required_roles: Sequence[str]) -> None:
        super().__init__(message)
        self.required_roles = tuple(required_roles)


@strawberry.type(description="One rule an input broke.")
class FieldProblem:
    field: str = strawberry.field(description="The argument at fault, as named in the schema.")
    message: str = strawberry.field(
        description='What is wrong with it, in English, e.g. "must not be empty".'
    )


@strawberry.type(description="The input broke one or more rules; nothing was written.")
class ValidationFailed:
    message: str = strawberry.field(description="The problems in one English sentence.")
    problems: list[FieldProblem] = strawberry.field(
        description="Every problem found, one per rule broken, in the input's field order."
    )

    @classmethod
    def from_error(cls, error: InvalidInput) -> ValidationFailed:
        return cls(
            message=str(error),
            problems=[FieldProblem(field=p.field, message=p.message) for p in error.problems],
        )

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls.from_error(InvalidInput.single(field, message))


@strawberry.type(name="NotFound", description="The thing named by an argument does not exist.")
class NotFoundType:
    message: str = strawberry.field(description='E.g. "Member TWVtYmVyOjQy does not exist".')
    kind: str = strawberry.field(description='The kind of thing missing, e.g. "Member", "Reward".')
    id: strawberry.ID = strawberry.field(
        description="The id that was asked for; a code, external id or idempotency key when "
        "that is what named the thing."
    )

    @classmethod
    def from_error(cls, error: NotFound, *, id: str) -> NotFoundType:
        return cls(
            message=f"{error.kind} {id} does not exist", kind=error.kind, id=strawberry.ID(id)
        )


@strawberry.type(
    name="IdempotencyConflict",
    description="The idempotency key was used before for a different request; nothing was written.",
)
class IdempotencyConflictType:
    message: str = strawberry.field(description="Says to use a new key for a new request.")
    idempotency_key: str = strawberry.field(description="The key that was reused.")

    @classmethod
    def from_error(cls, error: IdempotencyConflict) -> IdempotencyConflictType:
        return cls(message=str(error), idempotency_key=error.key)


@strawberry.type(
    name="Forbidden",
    description="The caller is signed in but may not do this; nothing was written. A caller "
    "without a token gets an UNAUTHENTICATED error instead: it must sign in first.",
)
class ForbiddenType:
    message: str = strawberry.field(description="The caller's role and the roles needed.")
    required_roles: list[str] = strawberry.field(
        description="The roles (as in a token's role claim) that may do this; for a member "
        "acting on another member, the roles that may act on any member."
    )

    @classmethod
    def from_error(cls, error: Forbidden) -> ForbiddenType:
        return cls(message=error.message, required_roles=list(error.required_roles))


@strawberry.type(
    name="MemberInactive",
    description="The member is deactivated: its events and redemptions are refused until an "
    "admin reactivates it (reactivateMember); nothing was written.",
)
class MemberInactiveType:
    message: str = strawberry.field(description="Says the member is deactivated.")
    member_id: strawberry.ID = strawberry.field(description="The deactivated member's id.")

    @classmethod
    def from_error(cls, error: MemberInactive, *, member_id: str) -> MemberInactiveType:
        return cls(message=str(error), member_id=strawberry.ID(member_id))


@strawberry.type(
    name="MemberMergedAway",
    description="The member was merged into another one (mergeMembers: the same person "
    "enrolled twice); nothing was written. Act on the survivor: the merged member's external "
    "id already resolves to it.",
)
class MemberMergedAwayType:
    message: str = strawberry.field(description="Says which member it was merged into.")
    member_id: strawberry.ID = strawberry.field(description="The merged-away member's id.")
    survivor_id: strawberry.ID = strawberry.field(
        description="The id of the member it was merged into."
    )

    @classmethod
    def from_error(
        cls, error: MemberMergedAway, *, member_id: str, survivor_id: str
    ) -> MemberMergedAwayType:
        return cls(
            message=str(error),
            member_id=strawberry.ID(member_id),
            survivor_id=strawberry.ID(survivor_id),
        )
