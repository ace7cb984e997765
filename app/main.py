"""The ASGI application: ``create_app(settings)`` wires GraphQL, health checks and metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol

from app import db
from app.api.context import Context
from app.api.limits import BodySizeLimitMiddleware
from app.api.permissions import BearerAuthMiddleware
from app.api.schema import build_schema
from app.api.trusted import DocumentRefused, DocumentRegistry
from app.config import Settings
from app.observability import Metrics, RequestLogMiddleware, configure_logging, request_record

logger = logging.getLogger("laurel.app")
READINESS_TIMEOUT_SECONDS = 2.0


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class LaurelGraphQL(GraphQL[Context, None]):
    def __init__(
        self, *, settings: Settings, metrics: Metrics, documents: DocumentRegistry
    ) -> None:
        super().__init__(
            build_schema(production=settings.is_production),
            graphql_ide="graphiql" if not settings.is_production else None,
            # Queries over GET are cacheable; strawberry refuses mutations over GET (CSRF).
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.metrics = metrics
        self.documents = documents

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
            response = JSONResponse(refused.response_body(), status_code=refused.status_code)
            await response(scope, receive, send)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # strawberry takes any GET without `query` that accepts */* for a browser (and
        # answers 404 in production): a GET naming a persisted query by hash is a request.
        return (
            super().should_render_graphql_ide(request) and "extensions" not in request.query_params
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
                raise HTTPException(400, "NUL characters are not allowed in a request")
        trusted_only = self.settings.trusted_documents
        if isinstance(data, list):  # batches are off (strawberry refuses them first)
            return [self.documents.admit(item, trusted_only=trusted_only) for item in data]
        return self.documents.admit(data, trusted_only=trusted_only)

    def decode_json(self, data: str | bytes) -> object:
        # JSON over HTTP is UTF-8 (RFC 8259). json.loads would guess UTF-16/32 from stray
        # bytes and raise UnicodeDecodeError, a 500; a JSONDecodeError is strawberry's 400.
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError("request body is not UTF-8", "", exc.start) from None
        decoded = json.loads(data)
        # Every JSON strawberry reads (a body, GET variables) must be an object or a batch;
        # it calls .get() on anything else, and a bare string or number was a 500.
        if not isinstance(decoded, (dict, list)):
            raise HTTPException(400, "Expected a JSON object")
        return decoded

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=self.settings,
            metrics=self.metrics,
            principal=getattr(request.state, "principal", None),
        )


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app. With no settings they are read from the environment (uvicorn --factory)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    if settings.jwt_secret_generated:
        logger.warning(
            f"LAUREL_JWT_SECRET is not set: using the development secret in "
            f"{settings.dev_secret_file} (`make token ROLE=admin` mints tokens for it)"
        )
    metrics = Metrics()
    # Read at start: operations added to graphql/operations/ are served after a restart.
    documents = DocumentRegistry.load(settings.operations_dir)
    if settings.trusted_documents and not len(documents):
        raise RuntimeError(
            f"LAUREL_TRUSTED_DOCUMENTS is on but {settings.operations_dir} holds no named "
            "operation: nothing could run (set LAUREL_OPERATIONS_DIR)"
        )
    redis: Redis | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        nonlocal redis
        async with db.connect(settings):
            if settings.redis_url:
                redis = Redis.from_url(
                    settings.redis_url,
                    socket_timeout=READINESS_TIMEOUT_SECONDS,
                    socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
                )
            logger.info(
                "Laurel started",
                extra={
                    "fields": {
                        "env": settings.env.value,
                        "embedded": settings.embedded,
                        "trusted_documents": settings.trusted_documents,
                        "documents": len(documents),
                    }
                },
            )
            try:
                yield {}
            finally:
                if redis is not None:
                    await redis.aclose()
                    redis = None

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if settings.redis_url:
            try:
                if redis is None:
                    raise ConnectionError("not connected")
                await redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        return PlainTextResponse(
            metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    graphql_app = LaurelGraphQL(settings=settings, metrics=metrics, documents=documents)
    app = Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    # Added last = outermost: every request is logged, refused tokens included.
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(BearerAuthMiddleware, settings=settings)
    app.add_middleware(RequestLogMiddleware, metrics=metrics)
    return app
