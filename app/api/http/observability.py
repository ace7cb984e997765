"""GraphQL's part in the logs and metrics: each operation's outcome, and which errors are
faults.

Every HTTP request already has its one structured line (app/observability.py). An error
about the request itself (a parse, validation or variable error, a refusal, an
UNAUTHENTICATED or FORBIDDEN error) is told in that line, without a traceback; only a
fault of ours (an exception a resolver did not mean) adds its traceback, to that same line.
strawberry's own logger would write every error, the client's included, with a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from app.api.shared.errors import is_client_error
from app.observability import note_fault, request_record

if TYPE_CHECKING:
    from app.api.members.home_cache import HomeScreens

logger = logging.getLogger("laurel.graphql")


class OperationObserver(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        # With ParserCache on, a syntax error is raised through this hook (strawberry
        # catches it above the operation): count the operation all the same.
        failed = True
        try:
            yield
            failed = False
        finally:
            self._observe(seconds=time.perf_counter() - started, failed=failed)

    def _observe(self, *, seconds: float, failed: bool) -> None:
        execution = self.execution_context
        result = execution.result
        errors = getattr(result, "errors", None) if result is not None else None
        outcome = "error" if errors or failed else "ok"
        name = execution.operation_name
        record = request_record.get()
        if record is not None:
            # The errors themselves are noted by ObservedSchema.process_errors.
            record.update(operation=name or "anonymous", outcome=outcome)
        metrics = getattr(execution.context, "metrics", None)
        if metrics is not None:
            metrics.observe_operation(name, outcome=outcome, seconds=seconds)


def _code(error: GraphQLError) -> str:
    """The error's code for the logs: its own, else what kind of error it is (the names
    Apollo Server gives these)."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if error.original_error is None and error.path is None:
        return "GRAPHQL_VALIDATION_FAILED"
    if is_client_error(error):  # a variable that does not coerce, a GraphQLError raised
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


class ObservedSchema(strawberry.Schema):
    """The schema, logging its errors as said above instead of strawberry's way."""

    # The home-screen answers this schema keeps (app/api/members/home_cache.py).
    home_screens: HomeScreens | None = None

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        operation = execution_context.operation_name if execution_context else None
        record = request_record.get()
        if record is not None and errors:
            record.setdefault("operation", operation or "anonymous")
            record["outcome"] = "error"
            record["errors"] = [e.message for e in errors][:3]
            record["codes"] = sorted({_code(e) for e in errors})[:5]
        for error in errors:
            if is_client_error(error):
                if record is None:  # a subscription over WebSocket: no request line
                    logger.info(
                        "graphql error",
                        extra={
                            "fields": {
                                "operation": operation or "anonymous",
                                "code": _code(error),
                                "error": error.message,
                            }
                        },
                    )
                continue
            original = error.original_error
            assert original is not None  # is_client_error holds for errors without one
            note_fault(original, operation=operation, path=error.path)
