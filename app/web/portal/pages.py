"""The portal's pages: one page for the signed-in member, and its live part as a partial
the page fetches again when the member's state changes (app/web/portal/live.py).

Every read is ``me``: the member a page shows is always the session's own, whatever the
request asks for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.responses import RedirectResponse, Response

from app.web.shared.pages import MEMBER_PAGES, Operations, Page, PageRefused, web_page

OPERATIONS = Operations.beside(__file__, "portal.graphql")


async def _member(page: Page) -> dict[str, Any]:
    data = await page.read(OPERATIONS, "PortalMember")
    me = data["me"]
    me["ledger"] = [edge["node"] for edge in me["ledger"]["edges"]]
    progress = me["tierProgress"]
    # A member at risk is demoted after the evaluation's grace days (LAUREL_EVALUATION_GRACE_DAYS).
    evaluation = datetime.fromisoformat(progress["nextEvaluationAt"])
    progress["graceEndsAt"] = evaluation + timedelta(days=page.settings.evaluation_grace_days)
    return {"me": me, "boards": data["openLeaderboards"]}


@web_page(*MEMBER_PAGES)
async def portal_home(page: Page) -> Response:
    return page.render("portal/home.html", **await _member(page))


@web_page(*MEMBER_PAGES)
async def portal_live_part(page: Page) -> Response:
    return page.render("portal/live_part.html", **await _member(page))


@web_page(*MEMBER_PAGES)
async def board_visibility(page: Page) -> Response:
    """Leave the public boards, or come back (the member still sees its own rank)."""
    outcome = await page.change(
        OPERATIONS, "PortalBoardVisibility", visible=page.field("visible") == "true"
    )
    if outcome["__typename"] != "LeaderboardVisibilitySet":
        raise PageRefused(outcome.get("message", "Not changed."))
    return RedirectResponse("/portal#boards", status_code=303)


@web_page(*MEMBER_PAGES)
async def ceremony(page: Page) -> Response:
    """After a change of tier: the ceremony when it was a promotion (the member's rank is
    above ``since``, the rank the page was opened with), nothing otherwise."""
    try:
        since = int(page.request.query_params.get("since", ""))
    except ValueError:
        since = -1
    me = (await page.read(OPERATIONS, "PortalTier"))["me"]
    promoted = me["tier"]["rank"] > since
    return page.render("portal/ceremony.html", me=me, promoted=promoted)
