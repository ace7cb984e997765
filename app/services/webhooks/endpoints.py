"""Webhook endpoints as admins manage them: register, change, rotate the secret, list; and
the delivery log with its replay. Every change is audited.

A URL is checked when it is registered: http or https (https only in production), and a
host that is not, and does not resolve to, a private, loopback, link-local, multicast or
reserved address unless ``LAUREL_WEBHOOKS_ALLOW_PRIVATE`` says otherwise. The sender
checks the host again before each pass's tries (:func:`send_time_check`: a DNS record changed
afterwards, DNS rebinding) and connects to the address it checked
(app/services/webhooks/sending.py).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from app.services.webhooks.events import EVENT_TYPES
from gamification.shared.problems import Problem

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2048
AUDITED = ("url", "event_types", "enabled")

# host, port -> the addresses it resolves to (a seam: tests resolve names of their own).
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    https_only: bool
    allow_private: bool
    resolve: Resolver = resolve_host


def new_secret() -> str:
    """A signing secret as Standard Webhooks libraries read it: whsec_ + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _forbidden(host: str, addresses: Sequence[str]) -> str | None:
    """Why a host resolving to ``addresses`` may not receive webhooks (None: it may)."""
    if not addresses:
        return f"the host {host} does not resolve"
    internal = [a for a in addresses if _internal(a)]
    if internal:
        return (
            f"points at a private, loopback or link-local address ({internal[0]}); "
            "LAUREL_WEBHOOKS_ALLOW_PRIVATE allows it"
        )
    return None


async def _addresses(host: str, port: int, policy: UrlPolicy) -> list[str]:
    """The addresses ``host`` stands for: itself when it is an address, else what it
    resolves to now (none when it does not resolve)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        return await policy.resolve(host, port)
    except OSError:
        return []


@dataclass(frozen=True, slots=True)
class SendTarget:
    """Where the tries to one host go: the address checked (None: connect by name, the
    check is off), or why they may not go at all."""

    host: str
    address: str | None = None
    refused: str | None = None


async def send_time_check(url: str, *, policy: UrlPolicy) -> SendTarget:
    """The URL's host checked again just before sending: a name registered while it
    pointed at a public address may point at an internal one now (DNS rebinding)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if policy.allow_private:
        return SendTarget(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _addresses(host, port, policy)
    if not addresses:
        return SendTarget(host, refused=f"the host {host} does not resolve")
    why = _forbidden(host, addresses)
    if why is not None:
        return SendTarget(host, refused=f"refused at send time: {host} {why}")
    return SendTarget(host, address=addresses[0])


async def url_problems(url: str, *, policy: UrlPolicy) -> list[Problem]:
    """Why ``url`` may not receive webhooks (nothing: it may)."""
    if len(url) > MAX_URL_LENGTH:
        return [Problem("url", f"must be at most {MAX_URL_LENGTH} characters")]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [Problem("url", "is not a URL")]
    schemes = ("https",) if policy.https_only else ("http", "https")
    if parts.scheme not in schemes:
        return [Problem("url", f"must start with {' or '.join(s + '://' for s in schemes)}")]
    host = parts.hostname
    if not host:
        return [Problem("url", "must name a host")]
    if parts.username or parts.password:
        return [Problem("url", "must not carry credentials (the signature authenticates)")]
    if policy.allow_private:
        return []
    addresses = await _addresses(host, port or (443 if parts.scheme == "https" else 80), policy)
    why = _forbidden(host, addresses)
    return [Problem("url", why)] if why is not None else []


def event_type_problems(event_types: Sequence[str]) -> list[Problem]:
    if not event_types:
        return [Problem("eventTypes", "must name at least one event type")]
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        return [
            Problem(
                "eventTypes",
                f"unknown event type {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}",
            )
        ]
    return []


async def create_endpoint(
    *, url: str, event_types: Sequence[str], policy: UrlPolicy, actor: Actor, now: datetime
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret (the caller shows it once)."""
    problems = [*await url_problems(url, policy=policy), *event_type_problems(event_types)]
    if problems:
        raise InvalidInput(problems)
    async with (
        in_transaction() as conn,
        audited(
            conn, actor=actor, action="webhook_endpoint.created", now=now, fields=AUDITED
        ) as change,
    ):
        return change.created(
            await WebhookEndpoint.create(
                url=url,
                event_types=sorted(set(event_types)),
                secret=new_secret(),
                enabled=True,
                created_at=now,
                using_db=conn,
            )
        )


async def update_endpoint(
    *,
    endpoint_id: int,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    enabled: bool | None = None,
    policy: UrlPolicy,
    actor: Actor,
    now: datetime,
) -> WebhookEndpoint:
    """Change the URL, the event types or whether it is enabled (what is given). Enabling
    clears the failure streak: its pending deliveries are sent again from now on."""
    problems = [
        *(await url_problems(url, policy=policy) if url is not None else []),
        *(event_type_problems(event_types) if event_types is not None else []),
    ]
    if problems:
        raise InvalidInput(problems)
    async with in_transaction() as conn:
        endpoint = await get_locked_or_not_found(WebhookEndpoint, endpoint_id, conn=conn)
        async with audited(
            conn,
            actor=actor,
            action="webhook_endpoint.updated",
            now=now,
            subject=endpoint,
            fields=AUDITED,
        ):
            if url is not None:
                endpoint.url = url
            if event_types is not None:
                endpoint.event_types = sorted(set(event_types))
            if enabled is not None and enabled != endpoint.enabled:
                endpoint.enabled = enabled
                endpoint.disabled_at = None if enabled else now
                endpoint.failing_since = None
            await endpoint.save(using_db=conn)
    return endpoint


async def rotate_secret(*, endpoint_id: int, actor: Actor, now: datetime) -> WebhookEndpoint:
    """A new secret at once: deliveries signed from now on use it (the old one is not
    accepted alongside; the receiver must switch when the admin does)."""
    async with in_transaction() as conn:
        endpoint = await get_locked_or_not_found(WebhookEndpoint, endpoint_id, conn=conn)
        # The secret itself is never written to the audit log: the entry says only that it
        # changed.
        async with audited(
            conn,
            actor=actor,
            action="webhook_endpoint.secret_rotated",
            now=now,
            target_type="WebhookEndpoint",
            target_id=endpoint.id,
        ):
            endpoint.secret = new_secret()
            await endpoint.save(using_db=conn, update_fields=["secret"])
    return endpoint


async def list_endpoints() -> list[WebhookEndpoint]:
    return await WebhookEndpoint.all().order_by("id")


async def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    return await get_or_not_found(WebhookEndpoint, endpoint_id)


async def delivery_page(
    *, endpoint_id: int, first: int, before_id: int | None
) -> tuple[list[WebhookDelivery], bool]:
    """An endpoint's deliveries, newest first; the flag says whether more follow."""
    query = WebhookDelivery.filter(endpoint_id=endpoint_id).order_by("-id")
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


async def replay_delivery(*, delivery_id: int, actor: Actor, now: datetime) -> WebhookDelivery:
    """Send a delivery again, now, with the same webhook-id (a receiver that saw it may drop
    it; one that lost it takes it)."""
    async with in_transaction() as conn:
        delivery = await get_locked_or_not_found(WebhookDelivery, delivery_id, conn=conn)
        async with audited(
            conn,
            actor=actor,
            action="webhook_delivery.replayed",
            now=now,
            target_type="WebhookDelivery",
            target_id=delivery.id,
        ) as change:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_try_at = now
            await delivery.save(using_db=conn, update_fields=["status", "next_try_at"])
            change.after = {"msg_id": delivery.msg_id}
    return delivery
