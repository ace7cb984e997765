"""Who is calling: JWT bearer tokens turned into a principal with one role.

HS256 tokens are signed with ``LAUREL_JWT_SECRET``; RS256 tokens are checked against the
identity provider's public key. Issuer, audience and expiry are always checked, and only
the configured algorithm is accepted (so ``alg: none`` and algorithm swaps are refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from app.config import Settings

LEEWAY_SECONDS = 30


class Role(StrEnum):
    MEMBER = "member"  # a member app, bound to one member
    MARKETER = "marketer"
    ADMIN = "admin"
    SERVICE = "service"  # a brand back end reporting activity


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    # The member a member token is bound to (Laurel's id); None for the other roles.
    member_id: int | None = None


class InvalidToken(Exception):
    """The bearer token cannot be trusted; the message says why (safe to show), ``reason``
    says it for programs: MALFORMED (not a Bearer JWT), EXPIRED, BAD_SIGNATURE (signed with
    another key or algorithm, or not at all), BAD_CLAIMS (issuer, audience, role, member) or
    REVOKED (a member token whose member's data was erased)."""

    def __init__(self, message: str, *, reason: str = "BAD_CLAIMS") -> None:
        super().__init__(message)
        self.reason = reason


def _verification_key(settings: Settings) -> str:
    if settings.jwt_algorithm == "RS256":
        assert settings.jwt_public_key  # the settings refuse RS256 without one
        return settings.jwt_public_key
    assert settings.jwt_secret
    return settings.jwt_secret


def decode_token(token: str, *, settings: Settings, now: datetime) -> Principal:
    """The principal of a valid token; ``now`` is the app's clock, which decides expiry
    (PyJWT's own checks would read the wall clock, which tests and replays cannot move)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=_verification_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={
                "require": ["exp", "iss", "aud", "sub", "role"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError) as exc:
        raise InvalidToken(f"the token is not valid: {exc}", reason="BAD_SIGNATURE") from None
    except jwt.DecodeError as exc:
        raise InvalidToken(f"the token is not valid: {exc}", reason="MALFORMED") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"the token is not valid: {exc}", reason="BAD_CLAIMS") from None
    _check_times(claims, now=now)
    try:
        role = Role(claims["role"])
    except ValueError:
        raise InvalidToken(f"unknown role {claims['role']!r}") from None
    member_id = claims.get("member_id")
    if role is Role.MEMBER:
        if not isinstance(member_id, int) or isinstance(member_id, bool) or member_id <= 0:
            raise InvalidToken("a member token needs a member_id claim")
    else:
        member_id = None
    return Principal(subject=str(claims["sub"]), role=role, member_id=member_id)


def _check_times(claims: dict[str, Any], *, now: datetime) -> None:
    """Expiry and not-before against ``now``, with the same leeway PyJWT would allow."""
    moment = now.timestamp()
    try:
        expires = float(claims["exp"])
        not_before = float(claims.get("nbf", claims.get("iat", moment)))
    except (TypeError, ValueError):
        raise InvalidToken(
            "the token is not valid: exp, nbf and iat must be numbers", reason="BAD_CLAIMS"
        ) from None
    if expires <= moment - LEEWAY_SECONDS:
        raise InvalidToken("the token has expired", reason="EXPIRED")
    if not_before > moment + LEEWAY_SECONDS:
        raise InvalidToken("the token is not yet valid", reason="BAD_CLAIMS")


def mint_token(
    *,
    settings: Settings,
    role: Role,
    subject: str,
    member_id: int | None = None,
    now: datetime,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """Sign a token with the HS256 secret (development and tests; production tokens come
    from the brand's identity provider)."""
    if settings.jwt_algorithm != "HS256":
        raise ValueError("Laurel only mints HS256 tokens; RS256 tokens come from your IdP")
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    if member_id is not None:
        claims["member_id"] = member_id
    assert settings.jwt_secret
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
