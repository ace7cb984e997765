"""The GraphQL schema: domain query and mutation roots merged, with the protective extensions."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from app.api.errors import UserInputError
from app.api.members.mutations import MemberMutations
from app.api.members.queries import MemberQueries
from app.api.observability import OperationObserver
from app.api.tiers.queries import TierQueries

Query = merge_types("Query", (MemberQueries, TierQueries))
Mutation = merge_types("Mutation", (MemberMutations,))

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 4000
# Distinct documents kept parsed and validated; a client app sends a few dozen.
DOCUMENT_CACHE_SIZE = 512


def _mask_unexpected(error: GraphQLError) -> bool:
    """In production, hide everything but errors meant for clients (bad input, bad queries)."""
    original = error.original_error
    if original is None:  # parse and validation errors: about the query, not our internals
        return False
    return not isinstance(original, UserInputError)


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        OperationObserver,
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if production:
        extensions.append(lambda: MaskErrors(should_mask_error=_mask_unexpected))
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)


# The contract as exported to graphql/schema.graphql (production and development agree).
schema = build_schema(production=False)
