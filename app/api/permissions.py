"""The one place operations declare who may call them."""

from __future__ import annotations

from enum import StrEnum

from strawberry.types import Info


class Role(StrEnum):
    MEMBER = "member"
    MARKETER = "marketer"
    ADMIN = "admin"
    SERVICE = "service"


def require_role(info: Info, *roles: Role) -> None:
    """Refuse the call unless the caller holds one of ``roles``.

    Authentication arrives with the auth issue: until then no caller is identified and
    every operation is open (the README says not to expose this build). Resolvers call
    this seam already, so turning authentication on changes this function only.
    """
    del info, roles
