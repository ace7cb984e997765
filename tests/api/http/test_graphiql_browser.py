"""GraphiQL in a real browser with no internet: Debian's chromium, driven by Playwright,
against a real ``laurel serve``, with every request to another host refused.

Skipped (with the reason) where chromium is not installed; with LAUREL_REQUIRE_SERVICES=1
(as .ci/run sets, which also installs it) a missing chromium fails the run. The
screenshot of the last state lands in ``test-artefacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from app.auth import Role, mint_token
from app.config import Settings
from tests.browsers import chromium_path, laurel_serving
from tests.factories import now

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "test-artefacts"
SECRET = "browser-test-secret-" + "x" * 32
STARTUP_SECONDS = 60
UI_TIMEOUT_MS = 30_000


@pytest.fixture
def chromium() -> Path:
    return chromium_path()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``laurel serve`` on a free port, on its own SQLite file (no demo: nothing to wait
    for); yields its base URL."""
    env = {"LAUREL_JWT_SECRET": SECRET, "LAUREL_LOAD_DEMO": "false", "LAUREL_LOG_LEVEL": "WARNING"}
    with laurel_serving(tmp_path, env=env, startup_seconds=STARTUP_SECONDS) as url:
        yield url


def _admin_token() -> str:
    settings = Settings(jwt_secret=SECRET, load_demo=False)
    return mint_token(settings=settings, role=Role.ADMIN, subject="graphiql-test", now=now())


def test_graphiql_runs_a_query_with_no_internet(chromium: Path, server: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    ARTEFACTS.mkdir(exist_ok=True)
    refused: list[str] = []
    served: list[str] = []

    def offline(route: Route) -> None:
        # No internet: only the machine itself answers.
        url = route.request.url
        host = urlsplit(url).hostname
        if host == "127.0.0.1" or url.startswith("data:"):
            served.append(url)
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", offline)
            page.goto(f"{server}/graphql", wait_until="load")
            try:
                # GraphiQL has rendered once its editors exist (a blank page stays
                # "Loading..." when a script is missing).
                editor = page.locator(".graphiql-query-editor .CodeMirror")
                editor.wait_for(timeout=UI_TIMEOUT_MS)
                editor.click()
                page.keyboard.press("Control+A")
                page.keyboard.press("Delete")
                page.keyboard.insert_text("{ __typename }")
                page.locator(".graphiql-execute-button").click()
                response = page.locator(".graphiql-response .CodeMirror")
                response.get_by_text('"Query"').wait_for(timeout=UI_TIMEOUT_MS)
                result = response.inner_text()
            finally:
                page.screenshot(path=str(ARTEFACTS / "graphiql-offline.png"))
        finally:
            browser.close()

    assert '"__typename": "Query"' in result
    assert refused == [], f"the page tried to reach other hosts: {refused}"
    assert any("/graphiql-assets/graphiql.min.js" in url for url in served)


def test_graphiql_sends_the_token_of_its_headers_pane(chromium: Path, server: str) -> None:
    """A token goes in the Headers pane (here filled through the page's `headers` URL
    parameter, as a shared link would); without it, staff queries are refused."""
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(exist_ok=True)
    query = "{ members(first: 1) { edges { node { id } } } }"
    headers = json.dumps({"Authorization": f"Bearer {_admin_token()}"})

    def run(url: str, name: str) -> str:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if urlsplit(route.request.url).hostname == "127.0.0.1"
                else route.abort("internetdisconnected")
            ),
        )
        page.goto(url, wait_until="load")
        try:
            page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=UI_TIMEOUT_MS)
            page.locator(".graphiql-execute-button").click()
            response = page.locator(".graphiql-response .CodeMirror")
            response.get_by_text('"members"').or_(response.get_by_text('"errors"')).first.wait_for(
                timeout=UI_TIMEOUT_MS
            )
            return response.inner_text()
        finally:
            page.screenshot(path=str(ARTEFACTS / name))
            page.close()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            signed_in = run(
                f"{server}/graphql?q={quote(query)}&headers={quote(headers)}",
                "graphiql-signed-in.png",
            )
            anonymous = run(f"{server}/graphql?q={quote(query)}", "graphiql-anonymous.png")
        finally:
            browser.close()

    assert '"edges": []' in signed_in and '"errors"' not in signed_in
    assert '"errors"' in anonymous and "sign in" in anonymous


def test_graphiql_subscribes_with_the_token_of_its_headers_pane(
    chromium: Path, server: str
) -> None:
    """GraphiQL sends the Headers pane's JSON as the socket's connection_init payload,
    which is where Laurel reads a WebSocket's token: with it the socket is acknowledged,
    without it it is closed."""
    from playwright.sync_api import WebSocket, sync_playwright

    query = "subscription { memberUpdates { __typename } }"
    headers = json.dumps({"Authorization": f"Bearer {_admin_token()}"})

    def frames(url: str) -> tuple[list[str], bool]:
        received: list[str] = []
        closed: list[bool] = []

        def watch(socket: WebSocket) -> None:
            socket.on("framereceived", lambda frame: received.append(str(frame)))
            socket.on("close", lambda _: closed.append(True))

        page = browser.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if urlsplit(route.request.url).hostname == "127.0.0.1"
                else route.abort("internetdisconnected")
            ),
        )
        page.on("websocket", watch)
        page.goto(url, wait_until="load")
        page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=UI_TIMEOUT_MS)
        page.locator(".graphiql-execute-button").click()
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while not (closed or any("connection_ack" in f for f in received)):
            assert time.monotonic() < deadline, "the socket neither opened nor closed"
            page.wait_for_timeout(100)
        # Read before closing the page, which closes the socket.
        outcome = list(received), bool(closed)
        page.close()
        return outcome

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            signed_in, _ = frames(f"{server}/graphql?q={quote(query)}&headers={quote(headers)}")
            anonymous, anonymous_closed = frames(f"{server}/graphql?q={quote(query)}")
        finally:
            browser.close()

    # (The signed-in socket may close later on its own, once the subscription ends.)
    assert any("connection_ack" in f for f in signed_in)
    assert anonymous_closed and not any("connection_ack" in f for f in anonymous)
