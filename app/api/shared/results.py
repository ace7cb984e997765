"""``typed_failures``: the one place a mutation's expected failures become its union results.

A refusal of a signed-in caller becomes ``Forbidden``; a service's ``InvalidInput``,
``NotFound``, ``IdempotencyConflict`` and ``MemberInactive`` become ``ValidationFailed``,
``NotFound``, ``IdempotencyConflict`` and ``MemberInactive`` (the last only where a
mutation acts for a member: recording events, redeeming), and ``MemberMergedAway`` becomes
``MemberMergedAway`` (where a mutation may name a merged-away member: recording events,
merging, reactivating). An anonymous caller's
``Unauthenticated`` error is left to propagate: the client must sign in, which no result
can say better. Failures particular to one mutation (``InsufficientPoints``,
``OutOfStock``, …) stay in its resolver.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from app.api.shared.errors import (
    Forbidden,
    ForbiddenType,
    IdempotencyConflictType,
    MemberInactiveType,
    MemberMergedAwayType,
    NotFoundType,
    ValidationFailed,
)
from app.api.shared.ids import encode_id
from app.observability import request_record
from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberInactive,
    MemberMergedAway,
    NotFound,
)

P = ParamSpec("P")
R = TypeVar("R")

TypedFailure = (
    ForbiddenType
    | ValidationFailed
    | NotFoundType
    | IdempotencyConflictType
    | MemberInactiveType
    | MemberMergedAwayType
)


def typed_failures(
    resolver: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R | TypedFailure]]:
    """Wrap a mutation resolver so that its expected failures are returned, not raised.

    ``functools.wraps`` keeps the resolver's name, signature and annotations, which is what
    strawberry reads to build the field.
    """

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> R | TypedFailure:
        try:
            return await resolver(*args, **kwargs)
        except EXPECTED as error:
            return typed_failure(error)

    return resolve


# The failures every mutation returns as results rather than raising.
EXPECTED = (
    Forbidden,
    InvalidInput,
    NotFound,
    IdempotencyConflict,
    MemberInactive,
    MemberMergedAway,
)


def typed_failure(error: Exception) -> TypedFailure:
    """The result type of an expected failure (of a whole mutation, or of one item of a
    batch); anything else is a fault and raised again."""
    if isinstance(error, Forbidden):
        return _noted(ForbiddenType.from_error(error))
    if isinstance(error, InvalidInput):
        return _noted(ValidationFailed.from_error(error))
    if isinstance(error, NotFound):
        return _noted(NotFoundType.from_error(error, id=_missing_id(error)))
    if isinstance(error, IdempotencyConflict):
        return _noted(IdempotencyConflictType.from_error(error))
    if isinstance(error, MemberInactive):
        return _noted(
            MemberInactiveType.from_error(error, member_id=encode_id("Member", error.member_id))
        )
    if isinstance(error, MemberMergedAway):
        return _noted(
            MemberMergedAwayType.from_error(
                error,
                member_id=encode_id("Member", error.member_id),
                survivor_id=encode_id("Member", error.survivor_id),
            )
        )
    raise error


F = TypeVar("F", bound=TypedFailure)


def _noted(failure: F) -> F:
    """Name the failure in the request's log line (an expected outcome: no traceback)."""
    record = request_record.get()
    if record is not None:
        definition = getattr(type(failure), "__strawberry_definition__", None)
        record.setdefault("failures", []).append(
            getattr(definition, "name", type(failure).__name__)
        )
    return failure


def _missing_id(error: NotFound) -> str:
    """The id the API gives the missing thing; a key that is not a primary key (an external
    id, a code, an idempotency key) as it is."""
    if isinstance(error.key, int):
        return encode_id(error.kind, error.key)
    return str(error.key)
