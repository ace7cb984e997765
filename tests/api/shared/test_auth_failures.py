"""One rule for callers who cannot be trusted, over HTTP and over graphql-transport-ws.

- No Authorization header: anonymous. Public fields answer; a field that needs a role
  answers a GraphQL error with code UNAUTHENTICATED (HTTP 200: the operation ran).
- An Authorization header that cannot be trusted (malformed, expired, wrongly signed,
  wrong claims): HTTP 401 before anything runs, a GraphQL response whose one error has
  code UNAUTHENTICATED and a ``reason``, and a WWW-Authenticate challenge.
- A socket whose connection_init carries no token or an untrustworthy one: closed 4403.

The HTTP edge is the same on both databases: these run on SQLite.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect

from app.auth import Role, mint_token
from tests import factories
from tests.factories import bearer
from tests.live import PROTOCOL, LiveSocket, live_socket, serving
from tests.operations import payload

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def expired(settings) -> str:
    return mint_token(
        settings=settings,
        role=Role.ADMIN,
        subject="x",
        now=factories.now() - timedelta(days=2),
        ttl=timedelta(hours=1),
    )


def signed_with_another_key(settings) -> str:
    token = bearer(settings, Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, "another-secret-" + "y" * 32, algorithm="HS256")


def unsigned(settings) -> str:
    token = bearer(settings, Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    return jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), key="", algorithm="none"
    )


def for_another_audience(settings) -> str:
    token = bearer(settings, Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    claims = {**jwt.decode(token, options={"verify_signature": False}), "aud": "someone-else"}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


UNTRUSTWORTHY = [
    pytest.param(lambda s: "Basic dXNlcjpwYXNz", "MALFORMED", id="basic-scheme"),
    pytest.param(lambda s: "Bearer", "MALFORMED", id="bearer-without-token"),
    pytest.param(lambda s: "Bearer not.a.token", "MALFORMED", id="not-a-jwt"),
    pytest.param(lambda s: "Bearer " + expired(s), "EXPIRED", id="expired"),
    pytest.param(lambda s: "Bearer " + signed_with_another_key(s), "BAD_SIGNATURE", id="wrong-key"),
    pytest.param(lambda s: "Bearer " + unsigned(s), "BAD_SIGNATURE", id="alg-none"),
    pytest.param(lambda s: "Bearer " + for_another_audience(s), "BAD_CLAIMS", id="wrong-audience"),
]


@pytest.fixture
async def anonymous(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


@pytest.mark.parametrize(("authorization", "reason"), UNTRUSTWORTHY)
@pytest.mark.parametrize("operation", ["Members", "TierLadder"], ids=["needs-a-role", "public"])
async def test_an_untrustworthy_authorization_header_is_a_401_graphql_error(
    anonymous, settings, monkeypatch, authorization, reason, operation
):
    ran: list[str] = []
    monkeypatch.setattr(
        "app.api.members.queries.members_after", lambda **kw: ran.append("members") or []
    )

    response = await anonymous.post(
        "/graphql",
        json=payload(operation, **({"first": 1} if operation == "Members" else {})),
        headers={"authorization": authorization(settings)},
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": reason}
    assert error["message"]
    assert response.json()["data"] is None
    assert ran == []


async def test_the_401_follows_the_spec_media_type_when_asked(anonymous):
    response = await anonymous.post(
        "/graphql",
        json=payload("TierLadder"),
        headers={
            "authorization": "Bearer not.a.token",
            "accept": "application/graphql-response+json",
        },
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert set(response.json()) == {"errors"}
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_missing_token_is_anonymous(anonymous):
    await factories.ladder()

    public = await anonymous.post("/graphql", json=payload("TierLadder"))
    private = await anonymous.post("/graphql", json=payload("Members", first=1))

    assert public.status_code == 200
    assert public.json()["data"]["tierLadder"]
    assert "errors" not in public.json()
    assert private.status_code == 200
    body = private.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "Authorization: Bearer" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(lambda s: None, id="missing"),
        pytest.param(lambda s: "Bearer not.a.token", id="malformed"),
        pytest.param(lambda s: "Bearer " + expired(s), id="expired"),
        pytest.param(lambda s: "Bearer " + signed_with_another_key(s), id="wrong-key"),
    ],
)
async def test_a_socket_without_a_trustworthy_token_is_closed_4403(app, settings, authorization):
    credentials = authorization(settings)
    init = {"authorization": credentials} if credentials else {}
    async with serving(app) as url, live_socket(url) as ws:
        await ws.send({"type": "connection_init", "payload": init})
        assert await ws.closed_with() == 4403


async def test_a_bad_header_on_the_upgrade_request_does_not_sign_a_socket_in(app, settings):
    # The upgrade request is not refused with a 401 (browsers cannot set its headers, and
    # graphql-ws reads no HTTP status): the socket is closed 4403 at connection_init.
    async with serving(app) as url:
        async with connect(
            url,
            subprotocols=[PROTOCOL],
            additional_headers={"Authorization": "Bearer " + expired(settings)},
        ) as connection:
            ws = LiveSocket(connection)
            await ws.send({"type": "connection_init", "payload": {}})
            assert await ws.closed_with() == 4403


async def test_a_trustworthy_token_is_acknowledged(app, settings):
    async with serving(app) as url, live_socket(url) as ws:
        acknowledged = await ws.init(bearer(settings, Role.ADMIN))
    assert acknowledged["type"] == "connection_ack"
