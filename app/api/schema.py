"""The GraphQL schema: domain query and mutation roots merged, with the protective extensions."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import NamedTuple

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    StringValueNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_limit_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types
from strawberry.types import get_object_definition

from app.api.activity.mutations import ActivityMutations, EventTypeMutations
from app.api.activity.queries import EventTypeQueries
from app.api.analytics.engagement import EngagementQueries
from app.api.analytics.queries import AnalyticsQueries
from app.api.analytics.tiers import TierAnalyticsQueries
from app.api.badges.mutations import BadgeMutations
from app.api.badges.queries import BadgeQueries
from app.api.benefits.mutations import BenefitMutations
from app.api.benefits.queries import BenefitQueries
from app.api.documents.mutations import DocumentMutations
from app.api.documents.queries import DocumentQueries
from app.api.http.observability import ObservedSchema, OperationObserver
from app.api.leaderboards.mutations import LeaderboardMutations
from app.api.leaderboards.queries import LeaderboardQueries
from app.api.members.home_cache import CachedHomeScreen, HomeScreens
from app.api.members.mutations import MemberMutations
from app.api.members.privacy import PrivacyMutations, PrivacyQueries
from app.api.members.queries import MemberQueries
from app.api.notifications.mutations import NotificationMutations
from app.api.notifications.updates import UPDATE_TYPES, MemberSubscriptions
from app.api.points.mutations import PointsMutations
from app.api.rewards.mutations import RewardMutations
from app.api.rewards.queries import RewardQueries
from app.api.rules.mutations import EarningRuleMutations
from app.api.rules.queries import EarningRuleQueries
from app.api.seasons.mutations import SeasonMutations
from app.api.seasons.queries import SeasonQueries
from app.api.shared.audit import AuditQueries
from app.api.shared.errors import is_client_error
from app.api.shared.scalars import SCALAR_MAP
from app.api.tasks.mutations import TaskMutations
from app.api.tasks.queries import TaskQueries
from app.api.tiers.calibration import CalibrationQueries
from app.api.tiers.mutations import LadderMutations
from app.api.tiers.queries import TierQueries
from app.api.webhooks.mutations import WebhookMutations
from app.api.webhooks.queries import WebhookQueries

Query = merge_types(
    "Query",
    (
        MemberQueries,
        PrivacyQueries,
        TierQueries,
        SeasonQueries,
        TaskQueries,
        BadgeQueries,
        EventTypeQueries,
        AuditQueries,
        RewardQueries,
        BenefitQueries,
        LeaderboardQueries,
        AnalyticsQueries,
        TierAnalyticsQueries,
        EngagementQueries,
        CalibrationQueries,
        DocumentQueries,
        WebhookQueries,
        EarningRuleQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        MemberMutations,
        PrivacyMutations,
        PointsMutations,
        NotificationMutations,
        ActivityMutations,
        SeasonMutations,
        TaskMutations,
        BadgeMutations,
        EventTypeMutations,
        LadderMutations,
        RewardMutations,
        BenefitMutations,
        LeaderboardMutations,
        DocumentMutations,
        WebhookMutations,
        EarningRuleMutations,
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
    get_object_definition(root, strict=True).description = description

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
    literals up front (variables are checked as the request is read, in app/api/http/view.py)."""

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


LIMIT_RULES: list[type[ASTValidationRule]] = [
    DepthLimit,
    alias_limit_rule(MAX_ALIASES),
    NoNulInStrings,
]


_Rules = tuple[type[ASTValidationRule], ...]


class CacheInfo(NamedTuple):
    hits: int
    misses: int


class _ValidatedDocuments:
    """Validation errors (none, for a valid document) by the identities of schema, document
    and rules, most recently used last. An entry holds the three objects themselves, so
    their ids cannot be taken by other objects while it is cached."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._entries: OrderedDict[
            tuple[int, ...], tuple[GraphQLSchema, DocumentNode, _Rules, list[GraphQLError]]
        ] = OrderedDict()

    def errors(
        self, schema: GraphQLSchema, document: DocumentNode, rules: _Rules
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), *map(id, rules))
        found = self._entries.get(key)
        if found is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return found[3]
        self.misses += 1
        errors = validate_document(schema, document, rules)
        self._entries[key] = (schema, document, rules, errors)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return errors

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses)


validated_documents = _ValidatedDocuments(DOCUMENT_CACHE_SIZE)


class DocumentValidationCache(SchemaExtension):
    """strawberry's ValidationCache, keyed by the parsed document's identity, not its hash.

    graphql-core hashes a document by walking every node of it, and remembers nothing: for
    graphql/operations/members.graphql, sent whole as clients send it, that is ~0.15 ms per
    request, as much as the rest of a whole ``{ __typename }`` execution. The ParserCache
    hands back the same document object for the same text, so the object itself is the key.
    """

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        assert execution.graphql_document is not None  # parsed before it is validated
        execution.pre_execution_errors = validated_documents.errors(
            execution.schema._schema,
            execution.graphql_document,
            tuple(execution.validation_rules),
        )
        yield


def _mask_unexpected(error: GraphQLError) -> bool:
    """In production, hide everything but errors meant for clients (bad input, bad queries)."""
    return not is_client_error(error)


def build_schema(*, production: bool) -> strawberry.Schema:
    config = schema_config()
    # Per schema, so per app: its answers were computed under that app's settings.
    home_screens = HomeScreens(config.name_converter)
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        OperationObserver,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(LIMIT_RULES),
        DocumentValidationCache,
        lambda: CachedHomeScreen(home_screens),
    ]
    if production:
        extensions.append(lambda: MaskErrors(should_mask_error=_mask_unexpected))
        extensions.append(DisableIntrospection)
    built = ObservedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # The updates are reached through their interface only.
        types=UPDATE_TYPES,
        extensions=extensions,
        config=config,
    )
    built.home_screens = home_screens  # for operations to read its hit rate
    return built


def schema_config() -> StrawberryConfig:
    # No "did you mean" suggestions: they map the schema for anyone, introspection or not.
    return StrawberryConfig(scalar_map=SCALAR_MAP, disable_field_suggestions=True)


# The contract as exported to graphql/schema.graphql (production and development agree).
schema = build_schema(production=False)
