"""The ASGI application: ``create_app(settings)`` builds it, its lifespan opens and closes
what it runs on (:class:`Running`), its routes say where each request goes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

from app import db
from app.api.analytics.exports import members_at_risk_csv
from app.api.documents.trusted import served_documents
from app.api.http import monitoring
from app.api.http.graphiql import ASSETS_URL, graphiql_assets
from app.api.http.limits import BodySizeLimitMiddleware
from app.api.http.view import LaurelGraphQL
from app.api.leaderboards.top_cache import LocalBoardVersions, PublicPageCache, top_page_cache
from app.api.members.exports import member_export_download
from app.api.shared.permissions import BearerAuthMiddleware
from app.clock import Clock, system_clock
from app.config import Settings
from app.observability import Metrics, RequestLogMiddleware, configure_logging
from app.services.jobs.embedded_runner import EmbeddedScheduler
from app.services.leaderboards.index import BoardReads, redis_index
from app.services.leaderboards.sql import SqlBoardReader
from app.services.notifications.relay import OutboxRelay, relay_sinks
from app.services.notifications.updates import LocalBroker, UpdateBroker, redis_broker
from app.web.routes import web_routes

logger = logging.getLogger("laurel.app")
READINESS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Running:
    """What the lifespan opens for the life of the app (``app.state.running``)."""

    redis: Redis | None  # what readiness pings; None without LAUREL_REDIS_URL
    updates: UpdateBroker  # live updates to members' sockets: Redis pub/sub, or in process
    boards: BoardReads  # leaderboard reads: the Redis index, SQL when it cannot answer
    top_pages: PublicPageCache | None  # board tops cached while their board is unchanged
    scheduler: EmbeddedScheduler | None  # the jobs, run by this process (embedded mode)
    relay: OutboxRelay | None  # the outbox, relayed by this process


@asynccontextmanager
async def running(settings: Settings, *, clock: Clock) -> AsyncIterator[Running]:
    """Open what the app runs on, as the settings ask; close it in reverse on the way out."""
    async with AsyncExitStack() as opened:
        redis: Redis | None = None
        updates: UpdateBroker = LocalBroker()
        if settings.redis_url:
            redis = Redis.from_url(
                settings.redis_url,
                socket_timeout=READINESS_TIMEOUT_SECONDS,
                socket_connect_timeout=READINESS_TIMEOUT_SECONDS,
            )
            opened.push_async_callback(redis.aclose)
            broker = redis_broker(settings, connect_timeout=READINESS_TIMEOUT_SECONDS)
            opened.push_async_callback(broker.close)
            updates = broker
        index = redis_index(settings, redis) if redis is not None else None
        local_versions = LocalBoardVersions()
        scheduler = None
        if settings.embedded and settings.run_jobs_in_process:
            scheduler = EmbeddedScheduler(settings, clock=clock)
            scheduler.start()
            opened.push_async_callback(scheduler.stop)
        relay = None
        if settings.relay_outbox:
            relay = OutboxRelay(
                sinks=relay_sinks(index=index, broker=updates, local=local_versions, clock=clock),
                poll_seconds=settings.outbox_poll_seconds,
            )
            relay.start()
            opened.push_async_callback(relay.stop)
        yield Running(
            redis=redis,
            updates=updates,
            boards=BoardReads(
                sql=SqlBoardReader(),
                index=index,
                timeout=settings.leaderboard_read_timeout_seconds,
            ),
            top_pages=top_page_cache(settings, index=index, local=local_versions),
            scheduler=scheduler,
            relay=relay,
        )


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> Starlette:
    """Build the app. With no settings they are read from the environment (uvicorn --factory).
    ``clock`` is what every request reads "now" from (tests pass theirs)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    if settings.jwt_secret_generated:
        logger.warning(
            f"LAUREL_JWT_SECRET is not set: using the development secret in "
            f"{settings.dev_secret_file} (`make token ROLE=admin` mints tokens for it)"
        )
    metrics = Metrics()
    documents = served_documents(settings)
    graphql = LaurelGraphQL(settings=settings, metrics=metrics, documents=documents, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with db.connect(settings), running(settings, clock=clock) as opened:
            app.state.running = opened
            graphql.updates = opened.updates
            graphql.boards = opened.boards
            graphql.public_pages = opened.top_pages
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
                yield
            finally:
                app.state.running = None

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", monitoring.healthz),
            Route("/readyz", monitoring.readyz),
            Route("/metrics", monitoring.metrics),
            Route("/exports/members-at-risk.csv", members_at_risk_csv, methods=["GET"]),
            Route("/exports/members/{export_id}", member_export_download, methods=["GET"]),
            *([] if settings.is_production else [Mount(ASSETS_URL, graphiql_assets())]),
            # The console (/console) and the member portal (/portal): app/web/.
            *web_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.metrics = metrics
    app.state.graphql = graphql
    app.state.running = None
    # Added last = outermost: every request is logged, refused tokens included.
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(BearerAuthMiddleware, settings=settings, clock=clock)
    app.add_middleware(RequestLogMiddleware, metrics=metrics)
    return app
