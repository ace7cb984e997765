"""GraphQL run in-process for the web pages (app/web/): the schema the API serves, with the
page's signed-in principal in the context, so roles, validation and typed failures are
the API's own. The pages see plain data: ``data`` and the errors' messages and codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from app.api.shared.context import Context
from app.auth import Principal


@dataclass(frozen=True, slots=True)
class OperationError:
    message: str
    code: str | None  # the error's extensions.code (FORBIDDEN, UNAUTHENTICATED, ...)


@dataclass(frozen=True, slots=True)
class OperationResult:
    data: dict[str, Any] | None
    errors: list[OperationError] = field(default_factory=list)


async def run_operation(
    request: Request,
    *,
    principal: Principal | None,
    document: str,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> OperationResult:
    """Execute ``document`` as ``principal`` with the app's GraphQL view's schema, settings,
    clock, broker and board reader (``request.app.state.graphql``)."""
    view = request.app.state.graphql
    context = Context(
        request=request,
        response=None,
        settings=view.settings,
        metrics=view.metrics,
        updates=view.updates,
        boards=view.boards,
        principal=principal,
        now=view.clock(),
    )
    result = await view.schema.execute(
        document,
        variable_values=variables or {},
        context_value=context,
        operation_name=operation_name,
    )
    errors = [
        OperationError(message=error.message, code=(error.extensions or {}).get("code"))
        for error in result.errors or []
    ]
    return OperationResult(data=result.data, errors=errors)
