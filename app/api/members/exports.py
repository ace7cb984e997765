"""GET /exports/members/{id}: the document of a finished member export (exportMember).

Authenticated like GraphQL, with the caller's bearer token (admins and services, who may
ask for exports), rather than a signed URL: the document is a person's whole record, and a
URL that is itself the credential ends up in proxies' logs, browser history and Referer
headers. The body is streamed from the stored parts; every download is audited
(``member.export_download``), so the log says who took a copy of whose data.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from tortoise.transactions import in_transaction

from app.api.members.privacy import EXPORTERS
from app.api.shared.ids import decode_id
from app.auth import Principal
from app.models import MemberExport, MemberExportStatus
from app.services.members.exports import export_parts
from app.services.shared.audit import Actor, audited


def _refusal(status: int, code: str, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _exporter(request: Request) -> Principal | Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return _refusal(401, "UNAUTHENTICATED", "sign in: send an Authorization: Bearer header")
    if principal.role not in EXPORTERS:
        allowed = ", ".join(r.value for r in EXPORTERS)
        return _refusal(
            403, "FORBIDDEN", f"the {principal.role.value} role may not do this (needs {allowed})"
        )
    return principal


async def member_export_download(request: Request) -> Response:
    """The export's JSON document (200), 404 when there is no such export (or it expired,
    or the member was erased since), 409 while it is not done."""
    checked = _exporter(request)
    if isinstance(checked, Response):
        return checked
    export_id = decode_id(request.path_params["export_id"], kind="MemberExport")
    export = None if export_id is None else await MemberExport.get_or_none(id=export_id)
    now: datetime = request.app.state.clock()
    if export is None or (export.expires_at is not None and export.expires_at <= now):
        return _refusal(404, "NOT_FOUND", "no such export (expired ones are deleted)")
    if export.status is not MemberExportStatus.DONE:
        return _refusal(
            409, "NOT_READY", f"the export is {export.status.value}: poll memberExportJob"
        )
    async with in_transaction() as conn:
        async with audited(
            conn,
            actor=Actor(subject=checked.subject, role=checked.role.value),
            action="member.export_download",
            target_type="Member",
            target_id=export.member_id,
            now=now,
        ) as change:
            change.before, change.after = None, {"export_id": export.id}
    return StreamingResponse(
        export_parts(export.id),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="member-export-{export.id}.json"',
            "Cache-Control": "no-store",
        },
    )
