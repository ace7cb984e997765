"""Structured request logs and Prometheus metrics.

Every HTTP request produces one JSON log line (path, status, duration and, for GraphQL,
the operation name and outcome). Metrics live in a registry per app, served at /metrics.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.connection import get_connections

logger = logging.getLogger("laurel.request")

# Filled in by the GraphQL layer for the request being served.
request_record: ContextVar[dict[str, Any] | None] = ContextVar("request_record", default=None)

_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Operation names come from clients: cap the label values so nobody can blow up the series.
MAX_OPERATION_LABELS = 500
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for Laurel's loggers (idempotent: apps may be created often)."""
    root = logging.getLogger("laurel")
    root.setLevel(level.upper())
    if not any(getattr(h, "_laurel", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._laurel = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


class DatabasePoolCollector(Collector):
    """Connections of each database client: open, idle and the most allowed."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "laurel_db_pool_connections", "Database connections by state", labels=["state"]
        )
        try:
            clients = get_connections().all()
        except Exception:  # ORM not initialised: nothing to report
            clients = []
        size = idle = maximum = 0
        for client in clients:
            pool = getattr(client, "_pool", None)
            if pool is not None:
                size += pool.get_size()
                idle += pool.get_idle_size()
                maximum += pool.get_max_size()
            elif getattr(client, "_connection", None) is not None:
                size += 1  # SQLite: one connection, shared under a lock
                maximum += 1
        gauge.add_metric(["open"], size)
        gauge.add_metric(["idle"], idle)
        gauge.add_metric(["max"], maximum)
        yield gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "laurel_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.operations = Counter(
            "laurel_graphql_operations",
            "GraphQL operations by name and outcome",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.operation_seconds = Histogram(
            "laurel_graphql_operation_duration_seconds",
            "GraphQL operation latency by name",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(DatabasePoolCollector())
        # Background work, read from the database at each scrape (so any API node reports
        # what every worker did).
        self.outbox_backlog = Gauge(
            "laurel_outbox_backlog",
            "Committed changes waiting for the relay",
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "laurel_outbox_lag_seconds",
            "How long the oldest waiting change has waited",
            registry=self.registry,
        )
        self.job_runs = Gauge(
            "laurel_job_runs",
            "Runs of each scheduled job by status (retries counted apart)",
            ["job", "status"],
            registry=self.registry,
        )
        self.job_retries = Gauge(
            "laurel_job_retries",
            "Attempts beyond the first, per job",
            ["job"],
            registry=self.registry,
        )
        self.job_last_duration = Gauge(
            "laurel_job_last_duration_seconds",
            "Duration of each job's last finished run",
            ["job"],
            registry=self.registry,
        )
        self._operation_labels: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _OPERATION_NAME.match(name):
            return "invalid"
        if name not in self._operation_labels:
            if len(self._operation_labels) >= MAX_OPERATION_LABELS:
                return "other"
            self._operation_labels.add(name)
        return name

    def observe_operation(self, name: str | None, *, outcome: str, seconds: float) -> None:
        label = self.operation_label(name)
        self.operations.labels(label, outcome).inc()
        self.operation_seconds.labels(label).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def note_fault(exc: BaseException, *, operation: str | None, path: object = None) -> None:
    """A fault of ours (not the client's): its traceback goes with the request's line, or
    on a line of its own outside a request (a subscription over WebSocket)."""
    record = request_record.get()
    if record is None:
        logger.error(
            "unexpected error",
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"fields": {"operation": operation or "anonymous", "path": path}},
        )
        return
    record["faults"] = record.get("faults", 0) + 1
    record.setdefault(_FAULT, exc)


_FAULT = "_fault"
# The status of a request whose client disconnected before it could be answered (no
# response is sent; the number is nginx's, for the log line and the metrics).
CLIENT_CLOSED_REQUEST = 499
_INTERNAL_ERROR_BODY = json.dumps(
    {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
).encode()


class RequestLogMiddleware:
    """Pure ASGI middleware: times each HTTP request and writes its one log line.

    The line is at info level, and carries what the GraphQL layer noted (operation,
    outcome, error codes, refusals). A request that hit a fault is logged at error level
    with the first fault's traceback; an exception that escapes the app is such a fault,
    answered with a JSON 500 here (so it is logged once, in this format).
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record: dict[str, Any] = {"method": scope["method"], "path": scope["path"]}
        token = request_record.set(record)
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_and_watch(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except ClientDisconnect:
            # The client went away before its body arrived (a load generator stopping, a
            # phone losing its signal): nothing to answer and nothing of ours went wrong.
            # 499 in the line and the metrics, as proxies name a request the client closed.
            status = CLIENT_CLOSED_REQUEST
            record["outcome"] = "client_disconnected"
        except Exception as exc:
            note_fault(exc, operation=record.get("operation"))
            if not response_started:
                await _internal_error(send_and_watch)
        finally:
            request_record.reset(token)
            record["status"] = status
            record["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
            route = scope["path"] if scope["path"] in _KNOWN_ROUTES else "other"
            self.metrics.http_requests.labels(route, str(status)).inc()
            fault: BaseException | None = record.pop(_FAULT, None)
            if fault is not None:
                exc_info = (type(fault), fault, fault.__traceback__)
                logger.error("request", exc_info=exc_info, extra={"fields": record})
            elif scope["path"] != "/metrics":
                logger.info("request", extra={"fields": record})


async def _internal_error(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _INTERNAL_ERROR_BODY})


_KNOWN_ROUTES = {"/graphql", "/healthz", "/readyz", "/metrics", "/exports/members-at-risk.csv"}
