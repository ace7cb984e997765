"""Who may call what: the roles declared on each field, and the bearer-token middleware.

Roles: a member (bound to one member) reads and acts only on itself; marketers and admins
read every member; service callers (brand back ends) report activity and enroll members;
admins award points. Anyone may read the tier ladder.

Every query, mutation and subscription declares who may call it on its field, as data:
``@strawberry.mutation(..., extensions=[roles(Role.ADMIN)])``. The declaration is checked
before the resolver runs, and the whole matrix can be read from the schema
(``app/api/shared/role_matrix.py`` prints it to docs/api/roles.md). A refusal is
``Unauthenticated`` (no token: a GraphQL error) or ``Forbidden`` (a signed-in caller): a
``Forbidden`` result for a field whose result union has one (every mutation), a FORBIDDEN
error otherwise. Checks that depend on data found by the resolver (a member may read only
itself, once the member is known) call ``require_member_access`` or ``require_role``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from app.api.http.graphql_http import send_refusal
from app.api.shared.errors import Forbidden, ForbiddenType, Unauthenticated
from app.api.shared.results import typed_failure
from app.auth import InvalidToken, Principal, Role, decode_token
from app.clock import Clock, system_clock
from app.config import Settings
from app.services.members.privacy import ErasedMembers
from app.services.shared.audit import Actor

STAFF = (Role.MARKETER, Role.ADMIN, Role.SERVICE)
# Who edits the programme's catalogue: seasons, tasks, badges, rewards, benefits.
CATALOGUE_EDITORS = (Role.MARKETER, Role.ADMIN)


def require_role(info: Info, *roles: Role) -> Principal:
    """The caller, when it holds one of ``roles``; ``Unauthenticated`` or ``Forbidden``
    otherwise."""
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


def require_member_access(info: Info, member_id: int) -> Principal:
    """Staff see every member; a member only itself."""
    principal = require_role(info, Role.MEMBER, *STAFF)
    if principal.role is Role.MEMBER and principal.member_id != member_id:
        raise Forbidden(
            "a member may only read and act on itself",
            required_roles=[r.value for r in STAFF],
        )
    return principal


def caller(info: Info) -> Principal:
    """The signed-in caller of a field whose declared roles let it in."""
    principal: Principal | None = info.context.principal
    if principal is None:
        raise RuntimeError("the field reads its caller but declares no roles")
    return principal


def audit_actor(info: Info) -> Actor:
    """The caller as the audit log names it (of a field whose declared roles let it in)."""
    principal = caller(info)
    return Actor(subject=principal.subject, role=principal.role.value)


class Roles(BasePermission):
    """A caller holding one of ``roles``. ``has_permission`` raises the refusal itself:
    its message names the caller's role, which ``on_unauthorized`` cannot see."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        require_role(info, *self.roles)
        return True

    def describe(self) -> str:
        return ", ".join(role.value for role in self.roles)


class Anyone(BasePermission):
    """Every caller, with or without a token."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True

    def describe(self) -> str:
        return "anyone (no token needed)"


# Which member a call is about, from the field's source and (Python-named) arguments; None
# when it names none.
MemberOf = Callable[[Any, dict[str, Any]], int | None]


class MemberOrStaff(Roles):
    """Staff, and a member on itself only. ``member`` names the member a call is about; a
    field that learns it only by reading (a lookup by external id) declares none and calls
    ``require_member_access`` once it has found the member."""

    def __init__(self, member: MemberOf | None = None) -> None:
        super().__init__(Role.MEMBER, *STAFF)
        self.member = member

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        member_id = self.member(source, kwargs) if self.member else None
        if member_id is None:
            require_role(info, *self.roles)
        else:
            require_member_access(info, member_id)
        return True

    def describe(self) -> str:
        return "member (itself only), " + ", ".join(role.value for role in STAFF)


Permission = Roles | Anyone


class DeclaredRoles(PermissionExtension):
    """The field extension that checks a field's declared permission before its resolver.

    A refused caller of a field whose result union has ``Forbidden`` gets that result, as
    ``typed_failures`` gives it when the resolver raises; of any other field, the error. A
    subscription is checked as its stream starts, where a check in the generator's body ran:
    the refusal arrives the same way (a result with errors on the socket).
    """

    def __init__(self, permission: Permission) -> None:
        # Permission directives would change the SDL: the roles are read from here instead.
        super().__init__([permission], use_directives=False)
        self.permission = permission
        self.typed = False
        self.subscription = False

    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        self.typed = ForbiddenType in getattr(field.type, "types", ())
        self.subscription = field.is_subscription

    def check(self, source: Any, info: Info, kwargs: dict[str, Any]) -> ForbiddenType | None:
        """None when the caller may go on; the typed refusal when the field returns one."""
        try:
            self.permission.has_permission(source, info, **kwargs)
        except Forbidden as refusal:
            if not self.typed:
                raise
            typed = typed_failure(refusal)
            assert isinstance(typed, ForbiddenType)
            return typed
        return None

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        refused = self.check(source, info, kwargs)
        return refused if refused is not None else next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if self.subscription:
            return self._checked_stream(next_, source, info, kwargs)
        refused = self.check(source, info, kwargs)
        if refused is not None:
            return refused
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def _checked_stream(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, kwargs: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        self.check(source, info, kwargs)
        # A subscription's resolver returns its stream (typed as an awaitable by strawberry).
        updates: AsyncGenerator[Any, None] = next_(source, info, **kwargs)  # type: ignore[assignment]
        async with aclosing(updates) as stream:
            async for item in stream:
                yield item


def roles(*allowed: Role) -> DeclaredRoles:
    """Declare the roles that may call a field: ``extensions=[roles(Role.ADMIN)]``."""
    return DeclaredRoles(Roles(*allowed))


def anyone() -> DeclaredRoles:
    """Declare a field open to every caller, signed in or not."""
    return DeclaredRoles(Anyone())


def member_or_staff(member: MemberOf | None = None) -> DeclaredRoles:
    """Declare a field about one member: staff, and that member itself (``member`` names it
    from the field's source or arguments)."""
    return DeclaredRoles(MemberOrStaff(member))


class BearerAuthMiddleware:
    """Turns the Authorization header into ``request.state.principal`` (None: anonymous).

    No Authorization header: anonymous; fields that need a role answer an UNAUTHENTICATED
    GraphQL error. A header that is there but cannot be trusted (not ``Bearer <token>``,
    expired, wrongly signed, wrong claims) gets a 401 at once, before anything runs: better
    a clear refusal than silently treating a caller who meant to sign in as anonymous. Its
    body is a GraphQL response whose one error has code UNAUTHENTICATED and the token's
    ``reason``; WWW-Authenticate says the same (RFC 6750). A member token whose member was
    erased is refused so too (reason REVOKED). WebSockets authenticate in
    connection_init instead (app/api/http/view.py).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        clock: Clock = system_clock,
        erased: ErasedMembers | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.erased = erased or ErasedMembers()

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
                now = self.clock()
                principal = decode_token(token.strip(), settings=self.settings, now=now)
                if principal.member_id is not None and await self.erased.contains(
                    principal.member_id, now=now
                ):
                    raise InvalidToken("the member this token is for was erased", reason="REVOKED")
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
