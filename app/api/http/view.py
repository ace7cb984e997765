"""The GraphQL view at /graphql: strawberry's ASGI app with Laurel's rules around it.

Every request passes here before the schema runs: a persisted or trusted document gets its
registered text (app/api/documents/trusted.py), NUL characters are refused, the public top
of a board is answered from its cache (app/api/leaderboards/top_cache.py), and WebSocket
connections authenticate in connection_init and carry subscriptions only. The per-request
context (app/api/shared/context.py) is built here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cross_web import AsyncHTTPRequestAdapter
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult

from app.api.documents.trusted import DocumentRefused, DocumentRegistry
from app.api.http.graphiql import graphiql_page
from app.api.http.graphql_http import GraphQLOverHTTP, RequestRefused, refusal_response
from app.api.leaderboards.top_cache import (
    PublicPageCache,
)
from app.api.schema import build_schema
from app.api.shared.context import Context
from app.auth import InvalidToken, Principal, decode_token
from app.clock import Clock, system_clock
from app.config import Settings
from app.observability import Metrics, request_record
from app.services.leaderboards.reads import BoardReader
from app.services.leaderboards.sql import SqlBoardReader
from app.services.members.privacy import ErasedMembers
from app.services.notifications.updates import LocalBroker, UpdateBroker

SUBSCRIPTION_LIMIT_REACHED = "SUBSCRIPTION_LIMIT_REACHED"


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class SubscriptionsOnlyHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws for subscriptions only, under the same document rules as HTTP.

    Queries and mutations go over HTTP: a socket's context lives as long as the socket,
    and its clock and DataLoader caches would go stale under them.
    """

    view: LaurelGraphQL

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await super().handle_subscribe(message)  # closes the socket (4401)
            return
        limit = self.max_subscriptions_per_connection
        if message["id"] not in self.operations and limit is not None:
            if len(self.operations) >= limit:
                # strawberry's own refusal has no code for clients to tell it apart.
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [
                            {
                                "message": f"Subscription limit reached: at most {limit} "
                                "per connection",
                                "extensions": {"code": SUBSCRIPTION_LIMIT_REACHED, "limit": limit},
                            }
                        ],
                    }
                )
                return
        payload = message.get("payload") or {}
        request = GraphQLRequestData(
            query=payload.get("query"),
            variables=payload.get("variables"),
            operation_name=payload.get("operationName"),
            extensions=payload.get("extensions"),
        )
        try:
            admitted = await self.view.documents.admit(
                request,
                trusted_only=self.view.settings.trusted_documents,
                document_id=payload.get("documentId"),
            )
            if admitted.query is None or _has_nul((admitted.query, admitted.variables)):
                raise DocumentRefused("BAD_REQUEST", "no usable query", operation_name=None)
            if not _is_subscription(admitted.query, admitted.operation_name):
                raise DocumentRefused(
                    "BAD_REQUEST",
                    "only subscriptions run over WebSocket; send queries and mutations "
                    "as HTTP POST /graphql",
                    operation_name=admitted.operation_name,
                )
        except DocumentRefused as refused:
            await self.send_message(
                {
                    "id": message["id"],
                    "type": "error",
                    "payload": [{"message": refused.message, "extensions": {"code": refused.code}}],
                }
            )
            return
        message["payload"] = {**payload, "query": admitted.query}
        await super().handle_subscribe(message)


def _is_subscription(query: str, operation_name: str | None) -> bool:
    """True when the operation a request names (or its only one) is a subscription; a
    document that does not parse passes, for strawberry to report its syntax error."""
    try:
        document = parse(query)
    except GraphQLError:
        return True
    operation = get_operation_ast(document, operation_name)
    return operation is None or operation.operation is OperationType.SUBSCRIPTION


class LaurelGraphQL(GraphQLOverHTTP):
    graphql_transport_ws_handler_class = SubscriptionsOnlyHandler

    def __init__(
        self,
        *,
        settings: Settings,
        metrics: Metrics,
        documents: DocumentRegistry,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(
            build_schema(production=settings.is_production),
            graphql_ide="graphiql" if not settings.is_production else None,
            # Queries over GET are cacheable; strawberry refuses mutations over GET (CSRF).
            allow_queries_via_get=True,
            # graphql-transport-ws only: the legacy graphql-ws protocol has no
            # connection_init to authenticate in before it subscribes.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.websocket_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        )
        self.settings = settings
        self.metrics = metrics
        self.documents = documents
        self.clock = clock
        # Set by the app's lifespan; resolvers read them through the context.
        self.updates: UpdateBroker = LocalBroker()
        self.boards: BoardReader = SqlBoardReader()
        self.public_pages: PublicPageCache | None = None
        # Whose member tokens are refused (app/services/members/privacy.py).
        self.erased = ErasedMembers()

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # The public top of a board: served from the cache while the board's version holds.
        cache = self.public_pages
        plan = cache.plan(request_data.query, request_data.operation_name) if cache else None
        key = None
        if cache is not None and plan is not None and request_adapter.method != "GET":
            principal = context.principal
            key = await cache.key(
                plan,
                variables=request_data.variables,
                role=principal.role if principal else None,
                now=context.now,
                zone=self.settings.zone,
            )
            if key is not None and (data := cache.get(key, request_data.query or "")) is not None:
                self.metrics.operations.labels(
                    self.metrics.operation_label(request_data.operation_name), "cached"
                ).inc()
                return ExecutionResult(data=data, errors=None)
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if cache is not None and key is not None and not result.errors and result.data:
            cache.put(key, request_data.query or "", result.data)
        return result

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except DocumentRefused as refused:
            # Raised by parse_http_body, before any response is started and before
            # strawberry parses anything: no operation runs, so the operation observer
            # never sees it; count it here.
            label = self.metrics.operation_label(refused.operation_name)
            self.metrics.operations.labels(label, "refused").inc()
            record = request_record.get()
            if record is not None:
                record.update(operation=label, outcome="refused", errors=[refused.message])
            response = refusal_response(
                Request(scope).headers.get("accept"),
                refused.status_code,
                refused.message,
                refused.code,
            )
            await response(scope, receive, send)

    @property
    def graphql_ide_html(self) -> str:
        # Strawberry's page loads its scripts from a CDN; this one from the app itself.
        return graphiql_page()

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # strawberry takes any GET without `query` that accepts */* for a browser (and
        # answers 404 in production): a GET naming a persisted query by hash (or by
        # documentId) is a request.
        params = request.query_params
        return (
            super().should_render_graphql_ide(request)
            and "extensions" not in params
            and "documentId" not in params
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # The one place every HTTP request (GET or POST) passes with its query, hash and
        # operation name, before the parser: a persisted query gets its registered text.
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            # PostgreSQL refuses NUL in text; no legitimate loyalty input carries one.
            if _has_nul((item.query, item.variables, item.operation_name)):
                raise RequestRefused(400, "NUL characters are not allowed in a request")
        trusted_only = self.settings.trusted_documents
        if isinstance(data, list):  # batches are off (strawberry refuses them first)
            return [await self.documents.admit(item, trusted_only=trusted_only) for item in data]
        return await self.documents.admit_http(request, data, trusted_only=trusted_only)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            metrics=self.metrics,
            updates=self.updates,
            boards=self.boards,
            principal=getattr(request.state, "principal", None),
            now=self.clock(),
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate the socket from connection_init's payload
        (``{"authorization": "Bearer <token>"}``) or, failing that, the upgrade request's
        header. A socket with neither, or with a bad token, is closed (4403)."""
        params = context.connection_params or {}
        credentials = params.get("authorization") or params.get("Authorization")
        if credentials is not None:
            context.principal = _principal_from(credentials, self.settings, now=context.now)
        principal = context.principal
        if principal is not None and principal.member_id is not None:
            if await self.erased.contains(principal.member_id, now=context.now):
                context.principal = None
        if context.principal is None:
            raise ConnectionRejectionError()
        return None


def _principal_from(credentials: object, settings: Settings, *, now: datetime) -> Principal | None:
    if not isinstance(credentials, str):
        return None
    scheme, _, token = credentials.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return decode_token(token.strip(), settings=settings, now=now)
    except InvalidToken:
        return None
