"""Signing in to the web pages, and out.

In development a page picks a role, or a member by external id, as ``laurel token`` does.
In production the brand's identity provider issues the token: it is checked as the API
checks a bearer token (app/auth.py) and exchanged for the session cookie. It comes as the
form's ``token`` field or as an ``Authorization: Bearer`` header (a page of the brand's
own that has the token posts it). Either way the form carries the session's CSRF token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.api.shared.ids import decode_id
from app.auth import InvalidToken, Principal, Role, decode_token
from app.web.shared.pages import Operations, Page, finish, page_of, refusal
from app.web.shared.session import CSRF_FIELD, Session

OPERATIONS = Operations.beside(__file__, "sign_in.graphql")
DEMO_ROLES = (Role.MARKETER, Role.ADMIN)
# Who looks members up for the development picker (never in production).
_PICKER = Principal(subject="dev-sign-in", role=Role.ADMIN)


def landing(principal: Principal, wanted: str | None) -> str:
    """Where a signed-in caller goes: the page it asked for when it is one of its own
    kind (never another site), else its home."""
    home = "/portal" if principal.role is Role.MEMBER else "/console"
    if wanted and wanted.startswith(home) and not wanted.startswith("//"):
        return wanted
    return home


async def sign_in_page(request: Request) -> Response:
    page = await page_of(request)
    return finish(page, _form(page, request.query_params.get("next", "")))


def _form(page: Page, wanted: str, *, problem: str = "", status: int = 200) -> Response:
    return page.render(
        "sign_in.html",
        status=status,
        wanted=wanted,
        demo_roles=[role.value for role in DEMO_ROLES],
        problem=problem,
        external_id=page.field("externalId", "demo-0001"),
    )


async def sign_in(request: Request) -> Response:
    page = await page_of(request)
    page.form = await request.form()
    if not page.session.accepts(page.field(CSRF_FIELD) or None):
        return refusal(
            page, "This form has expired: reload the page and sign in again.", status=403
        )
    wanted = page.field("next")
    principal: Principal | None
    if page.settings.is_production:
        principal = getattr(request.state, "principal", None)
        token = page.field("token").strip()
        if token:
            try:
                principal = decode_token(token, settings=page.settings, now=page.now)
            except InvalidToken as exc:
                return finish(page, _form(page, wanted, problem=str(exc), status=401))
        if principal is None:
            return finish(page, _form(page, wanted, problem="Paste your token.", status=401))
    else:
        principal, problem = await _demo_principal(page)
        if principal is None:
            return finish(page, _form(page, wanted, problem=problem, status=400))
    if principal.role is Role.SERVICE:
        return finish(
            page, _form(page, wanted, problem="Service tokens are for the API.", status=403)
        )
    page.session = page.session.signed_in(principal, now=page.now)
    return finish(page, RedirectResponse(landing(principal, wanted), status_code=303))


async def _demo_principal(page: Page) -> tuple[Principal | None, str]:
    role = page.field("role")
    if role in {r.value for r in DEMO_ROLES}:
        return Principal(subject=f"dev-{role}", role=Role(role)), ""
    if role != Role.MEMBER.value:
        return None, "Pick a role or a member."
    external_id = page.field("externalId").strip()
    signed_in_as = page.session
    page.session = Session(csrf=signed_in_as.csrf, seen=page.now, principal=_PICKER)
    try:
        data = await page.read(OPERATIONS, "SignInMember", externalId=external_id)
    finally:
        page.session = signed_in_as
    member = data["memberByExternalId"]
    if member is None:
        return None, f"No member has the external id {external_id!r}."
    member_id = decode_id(member["id"], kind="Member")
    assert member_id is not None
    return Principal(subject=external_id, role=Role.MEMBER, member_id=member_id), ""


async def sign_out(request: Request) -> Response:
    page = await page_of(request)
    page.form = await request.form()
    if not page.session.accepts(page.field(CSRF_FIELD) or None):
        return refusal(page, "This form has expired: reload the page.", status=403)
    page.session = Session.fresh(now=page.now)
    return finish(page, RedirectResponse("/sign-in", status_code=303))
