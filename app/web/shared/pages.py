"""How a page runs: its session read and renewed, its caller's role checked, a
state-changing request's CSRF token checked, the GraphQL operations it needs run
in-process as the signed-in principal, and its template rendered.

The role check here only picks the page; what a caller may read or change is decided by
the schema the operations run against (the roles declared on its fields).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context as TemplateContext
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.api.http.in_process import OperationResult, run_operation
from app.auth import Principal, Role
from app.config import Settings
from app.web.shared.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    Session,
    SessionsUnavailable,
    read_session,
    write_session,
)

WEB = Path(__file__).resolve().parent.parent
templates = Environment(
    loader=FileSystemLoader(WEB / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _moment(value: str | datetime, zone: ZoneInfo) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(zone)


@pass_context
def _day(context: TemplateContext, value: str | datetime | None) -> str:
    """A date as people read it, in the programme's time zone: 6 Dec 2026."""
    return "" if value is None else f"{_moment(value, context['zone']):%-d %b %Y}"


@pass_context
def _clock(context: TemplateContext, value: str | datetime | None) -> str:
    return "" if value is None else f"{_moment(value, context['zone']):%-d %b %Y, %H:%M}"


def _number(value: int | float | str | None) -> str:
    return "" if value is None else f"{int(float(value)):,}"


def _amount(value: str | float | None) -> str:
    """An Amount ("12.50", "3") without trailing zeros."""
    return "" if value is None else f"{Decimal(str(value)).normalize():f}"


templates.filters |= {"day": _day, "clock": _clock, "number": _number, "amount": _amount}

STAFF_PAGES = (Role.MARKETER, Role.ADMIN)
MEMBER_PAGES = (Role.MEMBER,)


class PageRefused(Exception):
    """A page the caller may not see (403), or an operation the schema refused."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Operations:
    """The GraphQL document a page module runs its operations from (a ``.graphql`` file
    beside it); an operation is picked by name."""

    text: str

    @classmethod
    def beside(cls, module_file: str, name: str) -> Operations:
        return cls((Path(module_file).resolve().parent / name).read_text())


@dataclass(slots=True)
class Page:
    """One request to a page: who asks, its session, its form, and the operations run."""

    request: Request
    session: Session
    settings: Settings
    now: datetime
    form: FormData | None = None

    @property
    def principal(self) -> Principal:
        assert self.session.principal is not None  # pages run only signed in
        return self.session.principal

    async def run(self, operations: Operations, name: str, **variables: Any) -> OperationResult:
        return await run_operation(
            self.request,
            principal=self.session.principal,
            document=operations.text,
            operation_name=name,
            variables=variables,
        )

    async def read(self, operations: Operations, name: str, **variables: Any) -> dict[str, Any]:
        """The data of an operation; one that fails with errors (not a typed result)
        refuses the page with their messages."""
        result = await self.run(operations, name, **variables)
        if result.errors or result.data is None:
            codes = {error.code for error in result.errors}
            status = 403 if "FORBIDDEN" in codes else 401 if "UNAUTHENTICATED" in codes else 400
            raise PageRefused("; ".join(e.message for e in result.errors), status=status)
        return result.data

    async def change(self, operations: Operations, name: str, **variables: Any) -> dict[str, Any]:
        """The typed result of a mutation (its one field: ``__typename`` and the rest)."""
        data = await self.read(operations, name, **variables)
        (result,) = data.values()
        assert isinstance(result, dict)
        return result

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        body = templates.get_template(template).render(
            principal=self.session.principal,
            csrf=self.session.csrf,
            now=self.now,
            production=self.settings.is_production,
            zone=self.settings.zone,
            **values,
        )
        return HTMLResponse(body, status_code=status)


PageHandler = Callable[[Page], Awaitable[Response]]


def problems_by_field(result: Mapping[str, Any]) -> dict[str, str]:
    """A ValidationFailed's problems by the (camelCase) field they name, for a form to show
    each beside its input; several problems of one field are joined."""
    found: dict[str, str] = {}
    for problem in result.get("problems") or []:
        name = problem["field"]
        found[name] = (
            f"{found[name]}; {problem['message']}" if name in found else problem["message"]
        )
    return found


async def page_of(request: Request) -> Page:
    settings: Settings = request.app.state.settings
    now: datetime = request.app.state.clock()
    session = read_session(request, settings=settings, now=now)
    return Page(request=request, session=session, settings=settings, now=now)


# Scripts and everything else from the app itself only (htmx is served by it); inline
# style attributes allowed; no framing (clickjacking), forms post only to the app.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def finish(page: Page, response: Response) -> Response:
    """The response with the renewed session cookie and the pages' security headers."""
    write_session(response, page.session, settings=page.settings)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refusal(page: Page, message: str, *, status: int) -> Response:
    return finish(page, page.render("refused.html", status=status, message=message))


def web_page(*roles: Role) -> Callable[[PageHandler], Callable[[Request], Awaitable[Response]]]:
    """Make ``handler(page)`` a starlette endpoint for callers holding one of ``roles``:
    anonymous callers are sent to sign in, others refused (403); a POST must carry the
    session's CSRF token."""

    def decorate(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                page = await page_of(request)
            except SessionsUnavailable as exc:
                return HTMLResponse(str(exc), status_code=503)
            if request.method == "POST":
                page.form = await request.form()
                token = page.form.get(CSRF_FIELD)
                sent = token if isinstance(token, str) else request.headers.get(CSRF_HEADER)
                if not page.session.accepts(sent):
                    return refusal(
                        page,
                        "This form has expired or did not come from Laurel: reload the page "
                        "and send it again.",
                        status=403,
                    )
            principal = page.session.principal
            if principal is None:
                if request.method == "GET" and "hx-request" not in request.headers:
                    target = quote(request.url.path)
                    return finish(page, RedirectResponse(f"/sign-in?next={target}", 303))
                return refusal(page, "Sign in first.", status=401)
            if principal.role not in roles:
                return refusal(
                    page,
                    f"The {principal.role.value} role cannot open this page.",
                    status=403,
                )
            try:
                response = await handler(page)
            except PageRefused as refused:
                return refusal(page, str(refused), status=refused.status)
            return finish(page, response)

        return endpoint

    return decorate
