"""GraphQL over HTTP at /graphql: media types, status codes and the JSON bodies of refusals.

Two response media types, chosen by the request's Accept header (the GraphQL over HTTP spec):

- ``application/json``, the legacy one: when Accept is absent, ``*/*``, names neither, or
  prefers it. Answered exactly as before: 200 for every request GraphQL parsed, a parse,
  validation or variable error included (``{"data": null, "errors": [...]}``).
- ``application/graphql-response+json`` when Accept names it (at a q no lower than
  ``application/json``'s): 400 with no ``data`` entry when the document does not parse,
  does not validate or its variables do not coerce; 200 once execution has started
  (``data`` present, field errors or not).

A request refused before GraphQL runs (a body that is not JSON or not a GraphQL request, an
unknown ``operationName``, an untrustworthy token, a body over the limit, a document the
registry refuses) is a 4xx whose body is a GraphQL response in the negotiated media type:
``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``, with ``"data": null`` as
well under ``application/json`` (as the refusals always had).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from app.api.shared.context import Context
from app.observability import request_record

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# Deeper JSON is no GraphQL request (variables are a few levels deep); past ~1,000 levels
# Python's parser raises RecursionError, and so would every walk over the value after it.
MAX_JSON_DEPTH = 64

_CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def response_media_type(accept: str | None) -> str:
    """The media type to answer in: graphql-response+json only when Accept names it and
    does not prefer application/json; a wildcard alone keeps older clients on JSON."""
    if not accept:
        return APPLICATION_JSON
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media_range, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        media_range = media_range.lower()
        weights[media_range] = max(weight, weights.get(media_range, 0.0))
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    legacy = next(
        (weights[r] for r in (APPLICATION_JSON, "application/*", "*/*") if r in weights), 0.0
    )
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= legacy else APPLICATION_JSON


def content_type_header(media_type: str) -> str:
    # JSON is UTF-8 (RFC 8259); the spec's examples spell the charset for the new type.
    return media_type if media_type == APPLICATION_JSON else f"{media_type}; charset=utf-8"


def refusal_body(media_type: str, message: str, code: str, **extensions: object) -> dict[str, Any]:
    error = {"message": message, "extensions": {"code": code, **extensions}}
    if media_type == APPLICATION_JSON:
        return {"data": None, "errors": [error]}
    return {"errors": [error]}


def refusal_response(
    accept: str | None,
    status_code: int,
    message: str,
    code: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> Response:
    """A request GraphQL will not run, answered as a GraphQL response with one error."""
    media_type = response_media_type(accept)
    code = code or _CODES_BY_STATUS.get(status_code, "BAD_REQUEST")
    body = json.dumps(refusal_body(media_type, message, code, **extensions)).encode()
    response = Response(body, status_code=status_code, headers=dict(headers or {}))
    response.headers["content-type"] = content_type_header(media_type)
    _note_refusal(code, message, extensions)
    return response


async def send_refusal(
    scope: Scope,
    receive: Receive,
    send: Send,
    status_code: int,
    message: str,
    code: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: object,
) -> None:
    """``refusal_response`` for pure ASGI middleware (the token and body-size checks)."""
    accept = _header(scope, b"accept")
    response = refusal_response(accept, status_code, message, code, headers=headers, **extensions)
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _note_refusal(code: str, message: str, extensions: Mapping[str, object]) -> None:
    """Give the request's log line the refusal (it is expected: no traceback)."""
    record = request_record.get()
    if record is not None:
        record.setdefault("outcome", "refused")
        record.setdefault("codes", [code])
        record.setdefault("errors", [message])
        record.update({k: v for k, v in extensions.items() if isinstance(v, (str, int))})


class RequestRefused(HTTPException):
    """An HTTP refusal with its GraphQL error code (strawberry's own carry only a status)."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        *,
        code: str = "BAD_REQUEST",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code
        self.headers = dict(headers or {})


class Outcome(Enum):
    EXECUTED = "executed"  # data present (maybe null), with field errors or not
    REQUEST_ERROR = "request_error"  # parse, validation or variable coercion failed
    FAULT = "fault"  # something broke before execution: a server fault


def outcome_of(result: ExecutionResult) -> Outcome:
    """Whether execution started. graphql-core gives every error raised while executing a
    path; errors without one come from parsing, validation and variable coercion, whose
    original errors (if any) are GraphQL errors. Anything else broke before execution."""
    if result.data is not None or not result.errors:
        return Outcome.EXECUTED
    if any(error.path is not None for error in result.errors):
        return Outcome.EXECUTED
    if all(_is_graphql_error(error.original_error) for error in result.errors):
        return Outcome.REQUEST_ERROR
    return Outcome.FAULT


def _is_graphql_error(original: Exception | None) -> bool:
    return original is None or isinstance(original, GraphQLError)


def json_depth_exceeds(value: object, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` (iteratively: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children: Iterable[object]
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> object:
    raise RequestRefused(400, f"{name} is not JSON (RFC 8259)")


class GraphQLOverHTTP(GraphQL[Context, None]):
    """strawberry's ASGI view with the spec's media types and status codes, and every
    refusal a JSON GraphQL response (strawberry answers its refusals in plain text)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = refusal_response(
                request.headers.get("accept"),
                exc.status_code,
                exc.reason,
                getattr(exc, "code", None),
                headers=getattr(exc, "headers", None),
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # JSON over HTTP is UTF-8 (RFC 8259). json.loads would guess UTF-16/32 from stray
        # bytes and raise UnicodeDecodeError, a 500; a JSONDecodeError is strawberry's 400.
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError("request body is not UTF-8", "", exc.start) from None
        try:
            decoded = json.loads(data, parse_constant=_refuse_constant)
        except RecursionError:
            raise RequestRefused(400, f"JSON nested deeper than {MAX_JSON_DEPTH}") from None
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer past Python's 4,300 digits
            raise RequestRefused(400, "a number in the JSON has too many digits") from None
        # Every JSON strawberry reads (a body, GET variables) must be an object or a batch;
        # it calls .get() on anything else, and a bare string or number was a 500.
        if not isinstance(decoded, (dict, list)):
            raise RequestRefused(400, "Expected a JSON object")
        if json_depth_exceeds(decoded, MAX_JSON_DEPTH):
            raise RequestRefused(400, f"JSON nested deeper than {MAX_JSON_DEPTH}")
        return decoded

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, (str, type(None))):
                raise RequestRefused(400, "operationName must be a string or null, if provided")
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            cause = exc.__cause__
            if isinstance(cause, CannotGetOperationTypeError):
                message = (
                    f'the document has no operation named "{cause.operation_name}"'
                    if cause.operation_name is not None
                    else "the document has no operation to run"
                )
                raise RequestRefused(400, message, code="OPERATION_RESOLUTION_FAILURE") from cause
            if isinstance(cause, InvalidOperationTypeError):
                # The spec's 405 for a mutation over GET; older clients keep their 400.
                spec = sub_response.media_type == GRAPHQL_RESPONSE_JSON
                raise RequestRefused(
                    405 if spec else 400,
                    exc.reason,
                    code="METHOD_NOT_ALLOWED",
                    headers={"Allow": "POST"} if spec else None,
                ) from cause
            raise

    async def get_sub_response(self, request: Request | Any) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        # process_result sees the request only; the status it decides goes here.
        request.state.graphql_sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        sub_response: Response | None = getattr(request.state, "graphql_sub_response", None)
        if sub_response is None or sub_response.media_type != GRAPHQL_RESPONSE_JSON:
            return body
        outcome = outcome_of(result)
        if outcome is not Outcome.EXECUTED:
            body.pop("data", None)
            sub_response.status_code = 400 if outcome is Outcome.REQUEST_ERROR else 500
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or APPLICATION_JSON
        response.headers["content-type"] = content_type_header(media_type)
        return response
