"""The GraphQL schema: domain query and mutation roots merged, with the protective extensions."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError, StringValueNode, ValidationContext, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from app.api.activity.mutations import ActivityMutations
from app.api.analytics.calibration import CalibrationQueries
from app.api.analytics.engagement import EngagementQueries
from app.api.analytics.queries import AnalyticsQueries
from app.api.analytics.tiers import TierAnalyticsQueries
from app.api.benefits.mutations import BenefitMutations
from app.api.benefits.queries import BenefitQueries
from app.api.documents.mutations import DocumentMutations
from app.api.documents.queries import DocumentQueries
from app.api.errors import is_client_error
from app.api.leaderboards.mutations import LeaderboardMutations
from app.api.leaderboards.queries import LeaderboardQueries
from app.api.marketing.mutations import MarketingMutations
from app.api.marketing.queries import MarketingQueries
from app.api.members.mutations import MemberMutations
from app.api.members.queries import MemberQueries
from app.api.members.updates import UPDATE_TYPES, MemberSubscriptions
from app.api.observability import ObservedSchema, OperationObserver
from app.api.rewards.mutations import RewardMutations
from app.api.rewards.queries import RewardQueries
from app.api.scalars import SCALAR_MAP
from app.api.tiers.mutations import LadderMutations
from app.api.tiers.queries import TierQueries

Query = merge_types(
    "Query",
    (
        MemberQueries,
        TierQueries,
        MarketingQueries,
        RewardQueries,
        BenefitQueries,
        LeaderboardQueries,
        AnalyticsQueries,
        TierAnalyticsQueries,
        EngagementQueries,
        CalibrationQueries,
        DocumentQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        MemberMutations,
        ActivityMutations,
        MarketingMutations,
        LadderMutations,
        RewardMutations,
        BenefitMutations,
        LeaderboardMutations,
        DocumentMutations,
    ),
)
Subscription = merge_types("Subscription", (MemberSubscriptions,))

# merge_types takes no description: the roots get theirs on their definitions.
ROOT_DESCRIPTIONS = {
    Query: "Reads. A field's description names the roles that may read it (anyone, when it "
    "names none): another caller gets a FORBIDDEN error, one without a token UNAUTHENTICATED. "
    "Bad arguments are BAD_USER_INPUT errors. Times are ISO 8601 with an offset, in UTC; "
    "local days, weeks (ISO, from Monday) and months are the programme's time zone's.",
    Mutation: "Writes. Each returns a union of its success and its typed failures "
    "(ValidationFailed, NotFound, IdempotencyConflict, Forbidden, ...); nothing is written "
    "when it fails. A caller without a token gets an UNAUTHENTICATED error instead.",
    Subscription: "Live updates over graphql-transport-ws on /graphql; the token goes in "
    "connection_init's payload.",
}
for root, description in ROOT_DESCRIPTIONS.items():
    root.__strawberry_definition__.description = description  # type: ignore[attr-defined]

MAX_QUERY_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000
# Distinct documents kept parsed and validated; a client app sends a few dozen.
DOCUMENT_CACHE_SIZE = 512


# The limit rules are built once. QueryDepthLimiter and MaxAliasesLimiter build a new rule
# class per request, and the validation cache is keyed by the rule classes: with them,
# every request missed the cache and was validated from scratch (bench/graphql_caches.py).
class NoNulInStrings(ValidationRule):
    """PostgreSQL refuses NUL in text and no loyalty input carries one: refuse it in string
    literals up front (variables are checked as the request is read, in app/main.py)."""

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError("NUL characters are not allowed", node))


_StrawberryDepthLimit = depth_limit_rule(MAX_QUERY_DEPTH, None, None)


class DepthLimit(_StrawberryDepthLimit):  # type: ignore[misc,valid-type]
    """strawberry's depth rule, which crashes (max() of nothing) on an empty selection set
    such as ``{}``: that document is refused by the other rules, so skip counting it."""

    def __init__(self, context: ValidationContext) -> None:
        try:
            super().__init__(context)
        except ValueError:
            ValidationRule.__init__(self, context)


LIMIT_RULES = [
    DepthLimit,
    alias_limit_rule(MAX_ALIASES),
    NoNulInStrings,
]


def _mask_unexpected(error: GraphQLError) -> bool:
    """In production, hide everything but errors meant for clients (bad input, bad queries)."""
    return not is_client_error(error)


def build_schema(*, production: bool) -> strawberry.Schema:
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        OperationObserver,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ]
    if production:
        extensions.append(lambda: MaskErrors(should_mask_error=_mask_unexpected))
        extensions.append(DisableIntrospection)
    return ObservedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # The updates are reached through their interface only.
        types=UPDATE_TYPES,
        extensions=extensions,
        config=schema_config(),
    )


def schema_config() -> StrawberryConfig:
    # No "did you mean" suggestions: they map the schema for anyone, introspection or not.
    return StrawberryConfig(scalar_map=SCALAR_MAP, disable_field_suggestions=True)


# The contract as exported to graphql/schema.graphql (production and development agree).
schema = build_schema(production=False)
