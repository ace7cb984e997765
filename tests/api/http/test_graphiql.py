"""GraphiQL's page and the assets it loads, all served by Laurel itself (no CDN)."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette

from app.api.http.graphiql import ASSETS_DIR, ASSETS_URL
from app.config import Environment

CONTENT_TYPES = {".js": "javascript", ".css": "text/css"}


class _References(HTMLParser):
    """Every src and href of the page, with the tag's integrity attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.found.append((tag, values[name] or "", values.get("integrity")))


async def _page(client: httpx.AsyncClient) -> str:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _references(html: str) -> list[tuple[str, str, str | None]]:
    parser = _References()
    parser.feed(html)
    return parser.found


async def test_the_page_references_no_other_host(client: httpx.AsyncClient):
    html = await _page(client)

    references = _references(html)
    loaded = [url for tag, url, _ in references if not url.startswith("data:")]
    assert loaded, "the page loads no assets at all"
    for url in loaded:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is on another host"
        assert url.startswith(f"{ASSETS_URL}/"), url
    # Nothing else on the page names a host to fetch from (scripts build no CDN URLs).
    assert not re.search(r"(https?:)?//(unpkg|cdn|cdnjs|jsdelivr|esm\.sh)", html)
    assert "GraphiQL" in html and "Authorization" in html


async def test_every_asset_the_page_loads_is_served_with_its_type_and_hash(
    client: httpx.AsyncClient,
):
    html = await _page(client)

    loaded = [(url, sri) for _, url, sri in _references(html) if url.startswith(ASSETS_URL)]
    assert {url.rsplit("/", 1)[1] for url, _ in loaded} == {
        "react.production.min.js",
        "react-dom.production.min.js",
        "js.cookie.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "plugin-explorer.umd.js",
        "plugin-explorer.css",
    }
    for url, integrity in loaded:
        response = await client.get(url)
        assert response.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[1]
        assert CONTENT_TYPES[suffix] in response.headers["content-type"], (url, response.headers)
        assert len(response.content) > 500, url
        # The browser checks the integrity hash: a stale one would block the script.
        assert integrity is not None, url
        assert integrity.startswith("sha384-")
        digest = hashlib.sha384(response.content).digest()
        assert integrity == "sha384-" + base64.b64encode(digest).decode(), url


async def test_the_pinned_assets_keep_their_licences_and_versions(client: httpx.AsyncClient):
    versions = (ASSETS_DIR / "VERSIONS").read_text()
    pinned = dict(
        line.split() for line in versions.splitlines() if line and not line.startswith("#")
    )
    assert set(pinned) == {
        "graphiql",
        "@graphiql/plugin-explorer",
        "react",
        "react-dom",
        "js-cookie",
    }
    for package in ("graphiql", "plugin-explorer", "react", "react-dom", "js-cookie"):
        response = await client.get(f"{ASSETS_URL}/LICENSE.{package}")
        assert response.status_code == 200, package
        assert "MIT License" in response.text or "Permission is hereby granted" in response.text
    # SHA256SUMS is what the refresh script wrote: the files are the ones it fetched.
    for line in (ASSETS_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name


async def test_an_unknown_asset_is_a_404(client: httpx.AsyncClient):
    response = await client.get(f"{ASSETS_URL}/../graphiql.html")
    assert response.status_code == 404
    assert (await client.get(f"{ASSETS_URL}/nothing.js")).status_code == 404


async def test_production_serves_neither_the_page_nor_its_assets(settings):
    from app.main import create_app

    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    app: Starlette = create_app(production)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laurel.test") as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        asset = await http.get(f"{ASSETS_URL}/graphiql.min.js")

    assert page.status_code == 404
    assert asset.status_code == 404
