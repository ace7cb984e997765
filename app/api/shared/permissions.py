"""Who may call what: the bearer-token middleware and the checks resolvers make.

Roles: a member (bound to one member) reads and acts only on itself; marketers and admins
read every member; service callers (brand back ends) report activity and enroll members;
admins award points. Anyone may read the tier ladder.

A refusal raises ``Unauthenticated`` (no token) or ``Forbidden`` (a signed-in caller); a
mutation's ``typed_failures`` turns the latter into its ``Forbidden`` result.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry import UNSET
from strawberry.types import Info

from app.api.http.graphql_http import send_refusal
from app.api.shared.errors import Forbidden, Unauthenticated
from app.auth import InvalidToken, Principal, Role, decode_token
from app.clock import Clock, system_clock
from app.config import Settings
from app.services.shared.audit import Actor

STAFF = (Role.MARKETER, Role.ADMIN, Role.SERVICE)
# Who edits the programme's catalogue: seasons, tasks, badges, rewards, benefits.
CATALOGUE_EDITORS = (Role.MARKETER, Role.ADMIN)


def require_role(info: Info, *roles: Role) -> Principal:
    """The caller, when it holds one of ``roles``; a GraphQL error otherwise."""
    principal: Principal | None = info.context.principal
    if principal is None:
        raise Unauthenticated("sign in: send an Authorization: Bearer <token> header")
    if principal.role not in roles:
        allowed = [r.value for r in roles]
        raise Forbidden(
            f"the {principal.role.value} role may not do this (needs {', '.join(allowed)})",
            required_roles=allowed,
        )
    return principal


def require_actor(info: Info, *roles: Role) -> Actor:
    """The caller as the audit log names it, when it holds one of ``roles``."""
    principal = require_role(info, *roles)
    return Actor(subject=principal.subject, role=principal.role.value)


def given_fields(input: object) -> dict[str, object]:
    """The fields a partial-update input actually carries (UNSET ones are left out)."""
    return {name: value for name, value in vars(input).items() if value is not UNSET}


def require_member_access(info: Info, member_id: int) -> Principal:
    """Staff see every member; a member only itself."""
    principal = require_role(info, Role.MEMBER, *STAFF)
    if principal.role is Role.MEMBER and principal.member_id != member_id:
        raise Forbidden(
            "a member may only read and act on itself",
            required_roles=[r.value for r in STAFF],
        )
    return principal


class BearerAuthMiddleware:
    """Turns the Authorization header into ``request.state.principal`` (None: anonymous).

    No Authorization header: anonymous; fields that need a role answer an UNAUTHENTICATED
    GraphQL error. A header that is there but cannot be trusted (not ``Bearer <token>``,
    expired, wrongly signed, wrong claims) gets a 401 at once, before anything runs: better
    a clear refusal than silently treating a caller who meant to sign in as anonymous. Its
    body is a GraphQL response whose one error has code UNAUTHENTICATED and the token's
    ``reason``; WWW-Authenticate says the same (RFC 6750). WebSockets authenticate in
    connection_init instead (app/api/http/view.py).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, clock: Clock = system_clock) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization")
        principal = None
        if header is not None:
            scheme, _, token = header.decode("latin-1").partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise InvalidToken(
                        "use the Bearer scheme: Authorization: Bearer <token>", reason="MALFORMED"
                    )
                principal = decode_token(token.strip(), settings=self.settings, now=self.clock())
            except InvalidToken as exc:
                if scope["type"] == "http":
                    await _unauthorized(scope, receive, send, exc)
                    return
                principal = None
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


_NOT_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


async def _unauthorized(scope: Scope, receive: Receive, send: Send, exc: InvalidToken) -> None:
    # RFC 6750 allows printable ASCII but " and \ here; the message may quote a claim.
    description = _NOT_IN_DESCRIPTION.sub("?", str(exc))[:200]
    await send_refusal(
        scope,
        receive,
        send,
        401,
        str(exc),
        "UNAUTHENTICATED",
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
        reason=exc.reason,
    )
