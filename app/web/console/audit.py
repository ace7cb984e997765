"""The console's audit log: who changed what, newest first (admins, as the API decides)."""

from __future__ import annotations

from starlette.responses import Response

from app.web.console.operations import OPERATIONS
from app.web.shared.pages import STAFF_PAGES, Page, web_page

SHOWN = 100


@web_page(*STAFF_PAGES)
async def audit_log(page: Page) -> Response:
    data = await page.read(OPERATIONS, "ConsoleAudit", first=SHOWN)
    entries = [edge["node"] for edge in data["auditLog"]["edges"]]
    return page.render("console/audit.html", entries=entries)
