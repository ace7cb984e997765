"""What operators and orchestrators poll: liveness, readiness and Prometheus metrics.

The endpoints read what the app holds in ``app.state``: its settings, clock and metrics,
and (``running``) what its lifespan opened, which carries the Redis client readiness pings.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app import db
from app.services.jobs.runs import job_stats
from app.services.notifications.outbox import backlog, oldest_waiting

logger = logging.getLogger("laurel.app")


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the database answers, and Redis too when the app is configured with it."""
    settings = request.app.state.settings
    running = request.app.state.running
    checks: dict[str, str] = {}
    try:
        await db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if settings.redis_url:
        try:
            redis = running.redis if running is not None else None
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


async def metrics(request: Request) -> Response:
    """The process's metrics, with the outbox and job figures read from the database now."""
    state = request.app.state
    found = state.metrics
    try:
        now = state.clock()
        found.outbox_backlog.set(await backlog())
        found.outbox_lag.set(await oldest_waiting(now))
        for stats in await job_stats():
            for status, count in stats.runs.items():
                found.job_runs.labels(stats.name, status).set(count)
            found.job_retries.labels(stats.name).set(stats.retries)
            if stats.last_duration_seconds is not None:
                found.job_last_duration.labels(stats.name).set(stats.last_duration_seconds)
    except Exception:  # the database is away: report the rest (readyz says why)
        logger.warning("background metrics unavailable", exc_info=True)
    return PlainTextResponse(found.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
