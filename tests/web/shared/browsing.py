"""A browser's part in the web tests, without a browser: an HTTP client of the app that
keeps cookies, signs in through the sign-in page and sends forms with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browsing:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def csrf(self, path: str = "/sign-in") -> str:
        page = await self.http.get(path)
        found = _CSRF.search(page.text)
        assert found, page.text
        return found.group(1)

    async def sign_in(self, role: str, external_id: str = "") -> httpx.Response:
        token = await self.csrf()
        return await self.http.post(
            "/sign-in", data={"csrf": token, "role": role, "externalId": external_id}
        )

    async def send(self, path: str, form: dict[str, Any], *, page: str) -> httpx.Response:
        """POST ``form`` to ``path`` as the form on ``page`` would, with its CSRF token."""
        return await self.http.post(path, data={"csrf": await self.csrf(page), **form})


@asynccontextmanager
async def visiting(app: Starlette, *, https: bool = False) -> AsyncIterator[Browsing]:
    """A visitor of the app, not signed in (over https: production's cookies are Secure)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"{'https' if https else 'http'}://laurel.test",
    ) as http:
        yield Browsing(http)


@asynccontextmanager
async def signed_in(app: Starlette, role: str, external_id: str = "") -> AsyncIterator[Browsing]:
    """A visitor signed in through the development picker."""
    async with visiting(app) as visitor:
        response = await visitor.sign_in(role, external_id)
        assert response.status_code == 303, response.text
        yield visitor
