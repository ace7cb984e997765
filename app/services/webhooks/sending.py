"""Sending webhook deliveries: claim the due ones, sign and POST them, record the outcome.

A pass claims due deliveries of enabled endpoints (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers take different rows) by moving their next try a lease ahead,
commits, and only then sends: no transaction is held open across HTTP. A worker that dies
mid-pass leaves its rows to be taken again when the lease ends (at least once; the
``webhook-id`` stays the same, so receivers drop the repeat).

Each POST is signed with the endpoint's secret (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) and must answer 2xx within the timeout. A
failure is tried again after 5 s, 10 s, 20 s, … up to an hour apart, at most
``MAX_ATTEMPTS`` times; then the delivery is ``failed`` until an admin replays it. An
endpoint with no success for longer than ``LAUREL_WEBHOOKS_DISABLE_AFTER`` is disabled and
an audit entry says so (the admins' view of what the system did).

Before a pass sends, each host of its URLs is resolved and checked again (DNS rebinding:
a name registered while public may point inside now); a host that is internal is not
contacted, its tries fail with the reason. The client connects to the very address the
check let through (:class:`PinnedBackend`): it never resolves the name a second time, so
a second answer cannot differ from the one checked. ``LAUREL_WEBHOOKS_ALLOW_PRIVATE``
turns the check (and the pinning) off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpcore
import httpx
from standardwebhooks.webhooks import Webhook
from tortoise.transactions import in_transaction

from app.config import Settings
from app.dialect import Dialect
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.services.shared.audit import Actor, audited
from app.services.webhooks.endpoints import (
    Resolver,
    SendTarget,
    UrlPolicy,
    resolve_host,
    send_time_check,
)

# With the delays below, 80 tries span about three days: as long as an endpoint may fail
# before it is disabled (LAUREL_WEBHOOKS_DISABLE_AFTER, by default).
MAX_ATTEMPTS = 80
FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 3600
# How long a claimed delivery is left to the worker that claimed it.
LEASE_SECONDS = 120
BATCH_SIZE = 100
# POSTs in flight at once in one pass.
CONCURRENCY = 20
SYSTEM = Actor(subject="laurel:webhooks", role="system")
USER_AGENT = "Laurel-Webhooks/1"


# The columns a pass records, one row per try (Dialect.relation: name, PostgreSQL type).
RECORDED = (
    ("id", "bigint"),
    ("attempts", "int"),
    ("code", "int"),
    ("latency_ms", "int"),
    ("error", "text"),
    ("status", "text"),
    ("delivered_at", "timestamptz"),
    ("next_try_at", "timestamptz"),
)


def retry_delay(attempts: int) -> timedelta:
    """The pause after the ``attempts``-th failed try: doubling from 5 s, capped at 1 h."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    endpoint_id: int
    url: str
    secret: str
    msg_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Claimed
    code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    delivered: int
    failed: int
    gave_up: int
    disabled: tuple[int, ...]

    def as_result(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "gave_up": self.gave_up,
            "disabled_endpoints": list(self.disabled),
        }


async def claim_due(*, now: datetime, limit: int = BATCH_SIZE) -> list[Claimed]:
    """Take up to ``limit`` due deliveries of enabled endpoints for this pass."""
    async with in_transaction() as conn:
        d = Dialect(conn)
        lock = " FOR UPDATE OF d SKIP LOCKED" if d.postgres else ""
        rows = await conn.execute_query_dict(
            d.numbered(
                "SELECT d.id, d.endpoint_id, e.url, e.secret, d.msg_id, d.payload, d.attempts "
                "FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id "
                "WHERE d.status = ? AND d.next_try_at <= ? AND e.enabled = ? "
                f"ORDER BY d.next_try_at, d.id LIMIT ?{lock}"
            ),
            [DeliveryStatus.PENDING.value, d.param(now), True, limit],
        )
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        await (
            WebhookDelivery.filter(id__in=ids)
            .using_db(conn)
            .update(next_try_at=now + timedelta(seconds=LEASE_SECONDS))
        )
    return [
        Claimed(
            id=int(r["id"]),
            endpoint_id=int(r["endpoint_id"]),
            url=r["url"],
            secret=r["secret"],
            msg_id=r["msg_id"],
            payload=d.read_json(r["payload"]),
            attempts=int(r["attempts"]),
        )
        for r in rows
    ]


def signed_request(claimed: Claimed, *, at: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers of one try (the body is the same bytes
    on every try; the timestamp is the try's)."""
    body = json.dumps(claimed.payload, separators=(",", ":")).encode()
    signature = Webhook(claimed.secret).sign(msg_id=claimed.msg_id, timestamp=at, data=body)
    return body, {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": claimed.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def post(
    http: httpx.AsyncClient,
    claimed: Claimed,
    *,
    at: datetime,
    post_seconds: float,
    target: SendTarget | None = None,
) -> Outcome:
    if target is not None and target.refused is not None:
        # No connection at all: the host is internal now (or does not resolve).
        return Outcome(delivery=claimed, code=None, latency_ms=0, error=target.refused[:300])
    body, headers = signed_request(claimed, at=at)
    started = time.perf_counter()
    try:
        response = await http.post(claimed.url, content=body, headers=headers, timeout=post_seconds)
        code, error = response.status_code, None
    except httpx.TimeoutException:
        code, error = None, f"no answer within {post_seconds:g} s"
    except httpx.HTTPError as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:300]
    latency_ms = round((time.perf_counter() - started) * 1000)
    return Outcome(delivery=claimed, code=code, latency_ms=latency_ms, error=error)


async def record_outcomes(
    outcomes: Sequence[Outcome], *, now: datetime, disable_after: timedelta
) -> SendReport:
    """Write each try's outcome, the endpoints' failure streaks, and disable those failing
    for longer than ``disable_after`` (audited)."""
    gave_up = 0
    disabled: list[int] = []
    rows: list[tuple[Any, ...]] = []
    for outcome in outcomes:
        attempts = outcome.delivery.attempts + 1
        if outcome.ok:
            status, delivered_at, next_try_at = DeliveryStatus.DELIVERED, now, None
        elif attempts >= MAX_ATTEMPTS:
            gave_up += 1
            status, delivered_at, next_try_at = DeliveryStatus.FAILED, None, None
        else:
            status, delivered_at, next_try_at = (
                DeliveryStatus.PENDING,
                None,
                now + retry_delay(attempts),
            )
        rows.append(
            (
                outcome.delivery.id,
                attempts,
                outcome.code,
                outcome.latency_ms,
                outcome.error,
                status.value,
                delivered_at,
                next_try_at,
            )
        )
    async with in_transaction() as conn:
        d = Dialect(conn)
        # One statement for the whole pass: a pass of 100 tries is one round trip, not 100.
        relation, params = d.relation(rows, RECORDED)
        await conn.execute_query(
            d.numbered(
                "UPDATE webhook_delivery SET attempts = v.attempts, "
                "last_response_code = v.code, last_latency_ms = v.latency_ms, "
                "last_error = v.error, status = v.status, "
                "delivered_at = COALESCE(v.delivered_at, webhook_delivery.delivered_at), "
                f"next_try_at = v.next_try_at FROM {relation} "
                "WHERE webhook_delivery.id = v.id"
            ),
            params,
        )
        succeeded = {o.delivery.endpoint_id for o in outcomes if o.ok}
        failing = {o.delivery.endpoint_id for o in outcomes if not o.ok} - succeeded
        if succeeded:
            await (
                WebhookEndpoint.filter(id__in=sorted(succeeded))
                .using_db(conn)
                .update(failing_since=None)
            )
        if failing:
            await (
                WebhookEndpoint.filter(id__in=sorted(failing), failing_since__isnull=True)
                .using_db(conn)
                .update(failing_since=now)
            )
            overdue = await WebhookEndpoint.filter(
                id__in=sorted(failing),
                enabled=True,
                failing_since__lt=now - disable_after,
            ).using_db(conn)
            for endpoint in overdue:
                async with audited(
                    conn,
                    actor=SYSTEM,
                    action="webhook_endpoint.disabled",
                    now=now,
                    target_type="WebhookEndpoint",
                    target_id=endpoint.id,
                ) as change:
                    # Conditional on still being enabled: of two senders, one disables it
                    # and records so.
                    if not await (
                        WebhookEndpoint.filter(id=endpoint.id, enabled=True)
                        .using_db(conn)
                        .update(enabled=False, disabled_at=now)
                    ):
                        change.unchanged()
                        continue
                    change.before = {"enabled": True}
                    change.after = {
                        "enabled": False,
                        "failing_since": endpoint.failing_since.isoformat()
                        if endpoint.failing_since
                        else None,
                        "url": endpoint.url,
                    }
                disabled.append(endpoint.id)
    delivered = sum(1 for o in outcomes if o.ok)
    return SendReport(
        sent=len(outcomes),
        delivered=delivered,
        failed=len(outcomes) - delivered,
        gave_up=gave_up,
        disabled=tuple(disabled),
    )


async def check_hosts(
    claimed: Sequence[Claimed], *, policy: UrlPolicy, pins: MutableMapping[str, str]
) -> dict[str, SendTarget]:
    """The send-time check of every URL of a pass, once each (resolved in parallel), by
    URL; pins each host let through to the address checked, under the name the
    connection pool will ask for (IDNA-encoded)."""
    urls = sorted({c.url for c in claimed})
    targets = await asyncio.gather(*(_checked(u, policy=policy, pins=pins) for u in urls))
    return dict(zip(urls, targets, strict=True))


async def _checked(url: str, *, policy: UrlPolicy, pins: MutableMapping[str, str]) -> SendTarget:
    try:
        name = httpx.URL(url).raw_host.decode("ascii")
        target = await send_time_check(url, policy=policy)
    except (httpx.InvalidURL, ValueError) as exc:
        # Checked when registered; one URL httpx cannot send to fails its own tries only.
        return SendTarget(host="", refused=f"the URL cannot be sent to: {exc}"[:300])
    if target.address is not None:
        pins[name] = target.address
    else:
        pins.pop(name, None)
    return target


async def send_due(
    *,
    http: httpx.AsyncClient,
    now: datetime,
    disable_after: timedelta,
    post_seconds: float,
    policy: UrlPolicy,
    pins: MutableMapping[str, str],
    limit: int = BATCH_SIZE,
) -> SendReport:
    """One pass: claim the due deliveries, check their hosts, POST them (``CONCURRENCY``
    at a time), record."""
    claimed = await claim_due(now=now, limit=limit)
    if not claimed:
        return SendReport(sent=0, delivered=0, failed=0, gave_up=0, disabled=())
    targets = await check_hosts(claimed, policy=policy, pins=pins)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Claimed) -> Outcome:
        async with gate:
            return await post(
                http, item, at=now, post_seconds=post_seconds, target=targets[item.url]
            )

    outcomes = await asyncio.gather(*(one(item) for item in claimed))
    return await record_outcomes(outcomes, now=now, disable_after=disable_after)


async def send_all_due(
    *,
    http: httpx.AsyncClient,
    now: datetime,
    disable_after: timedelta,
    post_seconds: float,
    policy: UrlPolicy,
    pins: MutableMapping[str, str],
    max_passes: int = 50,
) -> SendReport:
    """Passes until nothing is due (at most ``max_passes``), summed."""
    totals = [0, 0, 0, 0]
    disabled: list[int] = []
    for _ in range(max_passes):
        report = await send_due(
            http=http,
            now=now,
            disable_after=disable_after,
            post_seconds=post_seconds,
            policy=policy,
            pins=pins,
        )
        totals = [
            a + b
            for a, b in zip(
                totals, (report.sent, report.delivered, report.failed, report.gave_up), strict=True
            )
        ]
        disabled.extend(report.disabled)
        if report.sent < BATCH_SIZE:
            break
    sent, delivered, failed, gave_up = totals
    return SendReport(sent, delivered, failed, gave_up, disabled=tuple(disabled))


async def send_webhooks(
    *,
    settings: Settings,
    now: datetime,
    http: httpx.AsyncClient | None = None,
    resolve: Resolver = resolve_host,
) -> dict[str, Any]:
    """Send every due delivery with the settings' timeout and disable period (the job).
    ``http`` replaces the pinning client (tests); ``resolve`` the DNS lookup (tests)."""
    pins: dict[str, str] = {}
    policy = UrlPolicy(
        https_only=False, allow_private=settings.webhooks_allow_private, resolve=resolve
    )
    async with _client(http, pins, pinned_only=not policy.allow_private) as client:
        report = await send_all_due(
            http=client,
            now=now,
            disable_after=timedelta(seconds=settings.webhooks_disable_after),
            post_seconds=settings.webhooks_timeout_seconds,
            policy=policy,
            pins=pins,
        )
    return report.as_result()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections to the address the send-time check let through for a host,
    rather than resolving the name again. A host not pinned is refused, unless the check
    is off (``pinned_only`` false): then it is connected to by name."""

    def __init__(self, pins: Mapping[str, str], *, pinned_only: bool) -> None:
        self.pins = pins
        self.pinned_only = pinned_only
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self.pins.get(host)
        if address is None and self.pinned_only:
            raise httpcore.ConnectError(f"{host} was not checked before sending")
        return await self.inner.connect_tcp(
            address or host,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that connects through
    :class:`PinnedBackend`. TLS still verifies the certificate against the URL's host
    (the pool's origin keeps the name; only the TCP connection goes to the address)."""

    def __init__(self, pins: Mapping[str, str], *, pinned_only: bool, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx takes no network backend; its pool (httpcore) does, so the pool is made
        # again with one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(pins, pinned_only=pinned_only),
        )


class _ReleasedOnClose(httpx.AsyncByteStream):
    """A response body that hands its lane back once read and closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._release()


class LanedTransport(httpx.AsyncBaseTransport):
    """Lanes of one connection each, a request taking a free lane (the one that last went
    to its origin when there is one, so its connection is reused).

    httpcore's pool examines every connection it holds (a ``getpeername`` and a ``poll``
    each) for every request it places, so one pool of 20 connections spends about three
    times the CPU per request of 20 pools of one (bench/webhooks.py: ~1.7 ms against
    ~0.5 ms). Each lane is a :class:`PinnedTransport`, so the send-time pinning holds."""

    def __init__(self, pins: Mapping[str, str], *, pinned_only: bool, lanes: int) -> None:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._lanes = [
            PinnedTransport(pins, pinned_only=pinned_only, limits=one) for _ in range(lanes)
        ]
        self._free = list(range(lanes))
        self._origins: list[tuple[bytes, bytes, int | None] | None] = [None] * lanes
        self._gate = asyncio.Semaphore(lanes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._gate.acquire()
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        lane = next((i for i in self._free if self._origins[i] == origin), self._free[0])
        self._free.remove(lane)
        self._origins[lane] = origin
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._free.append(lane)
                self._gate.release()

        try:
            response = await self._lanes[lane].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasedOnClose(response.stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()


def sender_client(pins: Mapping[str, str], *, pinned_only: bool = True) -> httpx.AsyncClient:
    """The client the job sends with: no redirects (a 3xx is a failure, not a way round
    the URL check), no proxy from the environment, connections pinned to checked
    addresses, one lane per try in flight, kept alive between tries to the same
    endpoint."""
    return httpx.AsyncClient(
        transport=LanedTransport(pins, pinned_only=pinned_only, lanes=CONCURRENCY),
        follow_redirects=False,
        trust_env=False,
    )


@contextlib.asynccontextmanager
async def _client(
    http: httpx.AsyncClient | None, pins: Mapping[str, str], *, pinned_only: bool
) -> AsyncIterator[httpx.AsyncClient]:
    if http is not None:
        yield http
        return
    async with sender_client(pins, pinned_only=pinned_only) as client:
        yield client
