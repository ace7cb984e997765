"""The console and the portal in a real browser: Debian's chromium driven by Playwright,
against a real ``laurel serve`` with the demo programme, with no internet.

Skipped (with the reason) where chromium is not installed; with LAUREL_REQUIRE_SERVICES=1
(as .ci/run sets, which also installs it) a missing chromium fails the run. Every page the
journeys pass is captured in ``test-artefacts/web/`` (git-ignored) for a reviewer to look
at. The server is another process on the system clock, so the dates typed into forms and
sent with events come from it too (tests/clock.py reads the wall clock unless pinned).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.auth import Role, mint_token
from app.config import Settings
from tests.browsers import chromium_path, laurel_serving
from tests.factories import now

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "test-artefacts" / "web"
SECRET = "web-browser-test-secret-" + "x" * 32
ZONE = ZoneInfo("Asia/Shanghai")  # LAUREL_TIMEZONE's default: the forms' local time
STARTUP_SECONDS = 90
UI_TIMEOUT_MS = 15_000
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def chromium() -> Path:
    return chromium_path()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``laurel serve`` with the demo programme on a free port; yields its base URL."""
    env = {
        "LAUREL_JWT_SECRET": SECRET,
        "LAUREL_LOAD_DEMO": "true",
        "LAUREL_LOG_LEVEL": "WARNING",
        "LAUREL_OUTBOX_POLL_SECONDS": "0.2",
    }
    with laurel_serving(
        tmp_path_factory.mktemp("web"), env=env, startup_seconds=STARTUP_SECONDS
    ) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def _offline(page: Page, server: str, refused: list[str]) -> None:
    """No internet: only the server answers, every other host is refused (and noted)."""
    host = urlsplit(server).hostname

    def route(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == host or url.startswith("data:"):
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", route)


def _open(browser: Browser, server: str, *, viewport: dict[str, int] = DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport, base_url=server)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    refused: list[str] = []
    _offline(page, server, refused)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    _TROUBLE[id(page)] = (refused, errors)
    return page


# Per open page: the requests to other hosts it tried, the errors its console logged.
_TROUBLE: dict[int, tuple[list[str], list[str]]] = {}


def _close(page: Page) -> None:
    """Close the page; it must have needed no internet and broken no security policy."""
    refused, errors = _TROUBLE.pop(id(page))
    page.close()
    assert refused == [], f"the page tried to reach other hosts: {refused}"
    # A script or style the Content-Security-Policy refuses is logged as an error.
    blocked = [e for e in errors if "Content Security Policy" in e]
    assert blocked == [], blocked


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def _sign_in_staff(page: Page, role: str) -> None:
    page.goto("/sign-in")
    page.get_by_role("button", name=f"Sign in as {role}").click()
    page.wait_for_url("**/console")


def _sign_in_member(page: Page, external_id: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Member's external id").fill(external_id)
    page.get_by_role("button", name="Sign in as this member").click()
    page.wait_for_url("**/portal")


def _local(days: float) -> str:
    return (now() + timedelta(days=days)).astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def _record_purchase(server: str, external_id: str, amount: int, key: str) -> None:
    """A brand back end reports a purchase through the API."""
    settings = Settings(jwt_secret=SECRET, load_demo=False)
    token = mint_token(settings=settings, role=Role.SERVICE, subject="shop", now=now())
    response = httpx.post(
        f"{server}/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "query": "mutation($input: RecordEventInput!) { recordEvent(input: $input) "
            "{ __typename } }",
            "variables": {
                "input": {
                    "externalMemberId": external_id,
                    "type": "purchase",
                    "occurredAt": now().isoformat(),
                    "amount": str(amount),
                    "idempotencyKey": key,
                }
            },
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["recordEvent"]["__typename"] == "EventRecorded", response.text


def test_a_marketer_runs_a_season_and_a_member_watches_it_live(browser: Browser, server: str):
    from playwright.sync_api import expect

    # Given a marketer in the console
    console = _open(browser, server)
    _sign_in_staff(console, "marketer")
    assert console.get_by_role("heading", name="Programme overview").is_visible()
    assert console.locator("svg[role=img]").first.is_visible()
    _shot(console, "console-overview")

    # When it creates a season, adds a seasonal task with its badge and a board, and starts it
    console.get_by_role("link", name="Seasons", exact=True).click()
    console.get_by_label("Code").fill("web-spring")
    console.get_by_label("Name").fill("Web spring")
    console.get_by_label("Starts").fill(_local(1))
    console.get_by_label("Ends").fill(_local(30))
    _shot(console, "console-season-form")
    console.get_by_role("button", name="Create season").click()
    console.get_by_role("heading", name="Web spring (upcoming)").wait_for()

    tasks = console.locator("form[action$='/tasks']")
    tasks.get_by_label("Code", exact=True).fill("web-spring-buys")
    tasks.get_by_label("Name", exact=True).fill("Three spring purchases")
    tasks.get_by_label("Counts events of type").select_option("purchase")
    tasks.get_by_label("Condition").select_option("COUNT")
    tasks.get_by_label("Target").fill("3")
    tasks.get_by_label("Counted per").select_option("SEASON")
    tasks.get_by_label("Reward points").fill("30")
    # with the badge it gives, in the same form
    tasks.get_by_label("Badge code").fill("web-spring-shopper")
    tasks.get_by_label("Badge name").fill("Spring shopper")
    tasks.get_by_role("button", name="Add task").click()
    console.get_by_text("Three spring purchases").wait_for()
    assert "badge web-spring-shopper" in console.locator("#tasks").inner_text()

    boards = console.locator("form[action$='/boards']")
    boards.get_by_label("Code").fill("web-spring-board")
    boards.get_by_label("Name").fill("Spring board")
    boards.get_by_label("Ranks by").select_option("POINTS_EARNED")
    boards.get_by_label("Period").select_option("SEASON")
    boards.get_by_role("button", name="Add board").click()
    console.locator("#boards").get_by_text("Spring board").wait_for()

    console.get_by_role("button", name="Start the season now").click()
    console.get_by_role("heading", name="Web spring (running)").wait_for()
    _shot(console, "console-season")

    # And a member has the portal open
    portal = _open(browser, server)
    _sign_in_member(portal, "demo-0002")
    task = portal.locator("[data-task='web-spring-buys'] .task-progress")
    assert task.inner_text() == "0 of 3"
    board = portal.locator("[data-board='web-spring-board']")
    assert "Not on this board yet" in board.inner_text()
    portal.evaluate("window.notReloaded = true")
    _shot(portal, "portal-before")

    # When the shop reports two purchases through the API
    _record_purchase(server, "demo-0002", 120, "web-journey-1")
    _record_purchase(server, "demo-0002", 80, "web-journey-2")

    # Then the open page shows the progress and the rank, without a reload
    # (Locator assertions: the pages' CSP refuses the eval a wait_for_function needs.)
    expect(task).to_have_text("2 of 3", timeout=UI_TIMEOUT_MS)
    expect(board.locator(".rank")).to_have_text("#1", timeout=UI_TIMEOUT_MS)
    assert portal.evaluate("window.notReloaded") is True
    _shot(portal, "portal-after-live-update")
    _close(console)
    _close(portal)


def test_a_bad_value_is_shown_beside_its_field(browser: Browser, server: str):
    page = _open(browser, server)
    _sign_in_staff(page, "marketer")
    page.goto("/console/seasons")
    page.get_by_label("Code").fill("Not a code!")
    page.get_by_label("Name").fill("Bad")
    page.get_by_label("Starts").fill(_local(10))
    page.get_by_label("Ends").fill(_local(5))
    page.get_by_role("button", name="Create season").click()

    code = page.get_by_label("Code")
    problem = page.locator("#season-code-problem")
    problem.wait_for()
    assert "lowercase" in problem.inner_text()
    assert code.get_attribute("aria-invalid") == "true"
    assert code.get_attribute("aria-describedby") == "season-code-problem"
    assert page.locator("#season-endsAt-problem").is_visible()
    _shot(page, "console-season-problems")
    _close(page)


def test_a_member_reaches_neither_the_console_nor_another_member(browser: Browser, server: str):
    page = _open(browser, server)
    _sign_in_member(page, "demo-0003")
    name = page.get_by_role("heading", level=1).inner_text()

    console = page.goto("/console/members")
    assert console is not None and console.status == 403
    assert page.get_by_text("The member role cannot open this page").is_visible()
    _shot(page, "member-refused-console")
    other = page.goto("/portal?externalId=demo-0004")
    assert other is not None and other.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == name
    _close(page)


def test_a_state_changing_request_without_the_csrf_token_is_refused(browser: Browser, server: str):
    page = _open(browser, server)
    _sign_in_staff(page, "marketer")
    # The session cookie goes along (the context's own request API): only the token is missing.
    refused = page.request.post(
        f"{server}/console/seasons",
        form={"code": "csrf-less", "name": "No token", "startsAt": _local(1), "endsAt": _local(9)},
        max_redirects=0,
    )
    assert refused.status == 403
    page.goto("/console/seasons")
    assert page.get_by_text("csrf-less").count() == 0
    _close(page)


def test_the_pages_fit_a_phone(browser: Browser, server: str):
    page = _open(browser, server, viewport=PHONE)
    _sign_in_member(page, "demo-0001")
    _shot(page, "portal-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the portal scrolls sideways on a phone ({width}px)"

    staff = _open(browser, server, viewport=PHONE)
    _sign_in_staff(staff, "admin")
    _shot(staff, "console-phone")
    assert staff.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    staff.goto("/console/members")
    staff.get_by_role("link").filter(has_text="Hana Sato").first.click()
    staff.get_by_role("heading", name="Adjust points").wait_for()
    _shot(staff, "console-member-phone")
    staff.goto("/console/audit")
    _shot(staff, "console-audit-phone")
    _close(page)
    _close(staff)


def test_the_keyboard_alone_signs_in(browser: Browser, server: str):
    page = _open(browser, server)
    page.goto("/sign-in")
    _shot(page, "sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Sign in as marketer"
    page.keyboard.press("Enter")
    page.wait_for_url("**/console")
    _close(page)


def test_a_member_at_risk_is_warned_with_the_date(browser: Browser, server: str):
    # demo-0007 holds Gold below its retention line (the demo's DEMO_AT_RISK).
    page = _open(browser, server, viewport=PHONE)
    _sign_in_member(page, "demo-0007")
    warning = page.locator("#tier-card .warning")
    assert "At risk" in warning.inner_text() and "move down on" in warning.inner_text()
    page.locator("#tier-card").screenshot(path=str(ARTEFACTS / "portal-at-risk.png"))
    _close(page)


def test_a_promotion_shows_the_ceremony_on_the_open_page(browser: Browser, server: str):
    from playwright.sync_api import expect

    # demo-0003 is a Member a little short of Silver (the demo's DEMO_NEAR_PROMOTION).
    page = _open(browser, server, viewport=PHONE)
    _sign_in_member(page, "demo-0003")
    expect(page.locator("#tier-card .tier")).to_have_text("Member")

    _record_purchase(server, "demo-0003", 500, "web-promotion")

    ceremony = page.locator("#ceremony")
    expect(ceremony.get_by_role("heading")).to_have_text(
        "Welcome to Silver!", timeout=UI_TIMEOUT_MS
    )
    expect(page.locator("#tier-card .tier")).to_have_text("Silver", timeout=UI_TIMEOUT_MS)
    _shot(page, "portal-ceremony")
    _close(page)
