"""Real sockets for live-update tests: the app under uvicorn, and a graphql-transport-ws client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.operations import documents

PROTOCOL = "graphql-transport-ws"
WAIT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve an app whose lifespan already runs (the ``app`` fixture) on a real port;
    yields its ws:// GraphQL address."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task


class LiveSocket:
    """One graphql-transport-ws connection, driven message by message."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        text = await asyncio.wait_for(self.connection.recv(), seconds)
        message: dict[str, Any] = json.loads(text)
        return message

    async def init(self, headers: dict[str, str] | None) -> dict[str, Any]:
        payload = {"authorization": headers["Authorization"]} if headers else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, id: str, name: str = "MemberUpdates", **variables: Any) -> None:
        await self.send(
            {
                "id": id,
                "type": "subscribe",
                "payload": {
                    "query": documents()[name],
                    "operationName": name,
                    "variables": variables,
                },
            }
        )

    async def closed_with(self, seconds: float = WAIT_SECONDS) -> int | None:
        """Wait for the server to close the socket; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), seconds)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def updates(self, id: str, count: int) -> list[dict[str, Any]]:
        """The next ``count`` updates of subscription ``id`` (failing on anything else)."""
        found = []
        while len(found) < count:
            message = await self.receive()
            assert message.get("id") == id and message["type"] == "next", message
            assert "errors" not in message["payload"], message
            found.append(message["payload"]["data"]["memberUpdates"])
        return found

    async def silent(self, seconds: float) -> bool:
        """True when nothing arrives for ``seconds``."""
        try:
            message = await asyncio.wait_for(self.connection.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message: {message}")


@asynccontextmanager
async def live_socket(url: str) -> AsyncIterator[LiveSocket]:
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=WAIT_SECONDS) as connection:
        yield LiveSocket(connection)
