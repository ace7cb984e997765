"""The console's members: the list, a search by external id, a member's profile with its
ledger and badges, and adjusting its points with a reason (admins, as the API decides)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import RedirectResponse, Response

from app.web.console.operations import OPERATIONS
from app.web.shared.forms import FormReading
from app.web.shared.pages import STAFF_PAGES, Page, PageRefused, problems_by_field, web_page

LISTED = 50


@web_page(*STAFF_PAGES)
async def members(page: Page) -> Response:
    wanted = page.request.query_params.get("externalId", "").strip()
    if wanted:
        found = await page.read(OPERATIONS, "ConsoleFindMember", externalId=wanted)
        if found["memberByExternalId"] is not None:
            return RedirectResponse(
                f"/console/members/{found['memberByExternalId']['id']}", status_code=303
            )
    data = await page.read(OPERATIONS, "ConsoleMembers", first=LISTED)
    return page.render(
        "console/members.html",
        members=[edge["node"] for edge in data["members"]["edges"]],
        wanted=wanted,
        not_found=bool(wanted),
    )


async def _member_page(page: Page, member_id: str, *, status: int = 200, **adjust: Any) -> Response:
    data = await page.read(OPERATIONS, "ConsoleMember", id=member_id)
    member = data["member"]
    if member is None:
        raise PageRefused("No such member.", status=404)
    member["ledger"] = [edge["node"] for edge in member["ledger"]["edges"]]
    return page.render(
        "console/member.html",
        status=status,
        member=member,
        adjust={"values": {}, "problems": {}, "message": "", "done": ""} | adjust,
        # A fresh key per form shown: sending the same form twice adjusts once.
        key=secrets.token_urlsafe(16),
    )


@web_page(*STAFF_PAGES)
async def member(page: Page) -> Response:
    done = "Points adjusted." if page.request.query_params.get("adjusted") else ""
    return await _member_page(page, page.request.path_params["member_id"], done=done)


@web_page(*STAFF_PAGES)
async def adjust_points(page: Page) -> Response:
    member_id = page.request.path_params["member_id"]
    form = FormReading(page)
    delta = form.integer("delta")
    reason = form.text("reason")
    key = form.text("key") or secrets.token_urlsafe(16)
    message = ""
    if not form.problems:
        outcome = await page.change(
            OPERATIONS,
            "ConsoleAdjustPoints",
            memberId=member_id,
            delta=delta,
            reason=reason,
            key=key,
        )
        if outcome["__typename"] == "PointsAdjusted":
            return RedirectResponse(f"/console/members/{member_id}?adjusted=1", status_code=303)
        message, form.problems = outcome.get("message", "Not saved."), problems_by_field(outcome)
    return await _member_page(
        page,
        member_id,
        status=400,
        values={"delta": page.field("delta"), "reason": reason},
        problems=form.problems,
        message=message,
    )
