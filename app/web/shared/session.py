"""The web session: a signed cookie naming the signed-in principal and its CSRF token.

The cookie is HttpOnly, SameSite=Strict and, in production, Secure. It holds the
principal (subject, role, member), a synchronizer CSRF token every state-changing request
must send back (a form field or the ``X-CSRF-Token`` header), and when it was last seen:
a session idle for ``LAUREL_SESSION_IDLE_MINUTES`` is over. Every page renews it. Before
sign-in the session is anonymous and still carries a CSRF token, so the sign-in form is
protected too.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.auth import Principal, Role
from app.config import Settings

COOKIE = "laurel_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_SALT = "laurel-web-session"


class SessionsUnavailable(Exception):
    """No key to sign sessions with (RS256 and no LAUREL_SESSION_SECRET)."""


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    seen: datetime
    principal: Principal | None = None

    @classmethod
    def fresh(cls, *, now: datetime) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), seen=now)

    def signed_in(self, principal: Principal, *, now: datetime) -> Session:
        # A new CSRF token with every sign-in: one learnt before it is no use after.
        return Session(csrf=secrets.token_urlsafe(32), seen=now, principal=principal)

    def accepts(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


def _serializer(settings: Settings) -> URLSafeSerializer:
    secret = settings.session_secret or settings.jwt_secret
    if not secret:
        raise SessionsUnavailable("set LAUREL_SESSION_SECRET to sign in to the web pages")
    return URLSafeSerializer(secret, salt=_SALT)


def _encode(session: Session) -> dict[str, Any]:
    found: dict[str, Any] = {"csrf": session.csrf, "seen": session.seen.timestamp()}
    if session.principal is not None:
        found |= {
            "sub": session.principal.subject,
            "role": session.principal.role.value,
            "member": session.principal.member_id,
        }
    return found


def _decode(value: Any, *, zone_of: datetime) -> Session | None:
    if not isinstance(value, dict):
        return None
    try:
        seen = datetime.fromtimestamp(float(value["seen"]), tz=zone_of.tzinfo)
        principal = None
        if "role" in value:
            member = value.get("member")
            principal = Principal(
                subject=str(value["sub"]),
                role=Role(value["role"]),
                member_id=member if isinstance(member, int) else None,
            )
        return Session(csrf=str(value["csrf"]), seen=seen, principal=principal)
    except (KeyError, TypeError, ValueError):
        return None


def read_session(request: Request, *, settings: Settings, now: datetime) -> Session:
    """The request's session, renewed; a fresh anonymous one when it has none, a broken or
    forged one, or one idle for too long."""
    raw = request.cookies.get(COOKIE)
    session = None
    if raw:
        try:
            session = _decode(_serializer(settings).loads(raw), zone_of=now)
        except BadSignature:
            session = None
    if session is None:
        return Session.fresh(now=now)
    if now - session.seen > timedelta(minutes=settings.session_idle_minutes):
        return Session.fresh(now=now)
    return replace(session, seen=now)


def write_session(response: Response, session: Session, *, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        _serializer(settings).dumps(_encode(session)),
        max_age=settings.session_idle_minutes * 60,
        path="/",
        httponly=True,
        secure=settings.is_production,
        samesite="strict",
    )


def forget_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
