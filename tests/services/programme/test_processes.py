"""A programme change made through one API process is used by the very next event that
another process records: two real ``uvicorn app.main:create_app --factory`` servers on one
PostgreSQL database, each with its own programme cache, spoken to over HTTP with the
client operations a marketer's console and a brand's back end send.

PostgreSQL only: two processes writing one SQLite file is not a supported deployment.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import db
from app.api.shared.ids import encode_id
from app.auth import Role
from app.config import Settings
from tests import factories
from tests.factories import bearer
from tests.operations import payload

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One API process on a free port, and what it wrote to its console."""

    def __init__(self, name: str, settings: Settings, log: Path) -> None:
        self.name = name
        self.settings = settings
        self.port = free_port()
        self.log_path = log
        self.process: asyncio.subprocess.Process | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def start(self) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
        env.update(
            LAUREL_DATABASE_URL=self.settings.database_url,
            LAUREL_JWT_SECRET=self.settings.jwt_secret or "",
            LAUREL_LOAD_DEMO="false",
            LAUREL_LOG_LEVEL="WARNING",
            LAUREL_RELAY_OUTBOX="false",
            LAUREL_RUN_JOBS_IN_PROCESS="false",
        )
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"],
                *["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"],
                *["--log-level", "warning", "--timeout-graceful-shutdown", "5"],
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def wait_until_healthy(self, client: httpx.AsyncClient) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.returncode is None, f"{self.name} exited:\n{self.log()}"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy in {STARTUP_SECONDS}s:\n{self.log()}")

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def two_servers(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Processes A and B, started side by side; an HTTP client of each."""
    servers = [Server(name, settings, tmp_path / f"{name}.log") for name in ("A", "B")]
    async with AsyncExitStack() as stack:
        for server in servers:
            stack.push_async_callback(server.stop)
            await server.start()
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.port}", timeout=30)
            )
            for s in servers
        ]
        await asyncio.gather(
            *(s.wait_until_healthy(c) for s, c in zip(servers, clients, strict=True))
        )
        yield clients[0], clients[1]


class Console:
    """Sends client operations to one process, as a given role."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def send(self, role: Role, name: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json=payload(name, **variables), headers=bearer(self.settings, role)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        (result,) = body["data"].values()
        assert isinstance(result, dict)
        return result

    async def record(self, member_id: int, type: str, key: str) -> dict[str, Any]:
        result = await self.send(
            Role.SERVICE,
            "RecordEvent",
            input={
                "memberId": encode_id("Member", member_id),
                "type": type,
                "occurredAt": factories.now().isoformat(),
                "idempotencyKey": key,
            },
        )
        assert result["__typename"] == "EventRecorded", result
        return result


async def test_a_change_through_one_process_is_used_by_the_next_event_of_another(
    postgres_settings, tmp_path
):
    # Given a member, and two API processes on one database, each of which has recorded
    # an event (so each holds the programme in its cache)
    settings = postgres_settings
    async with db.connect(settings):
        member = await factories.member()
    async with two_servers(settings, tmp_path) as (client_a, client_b):
        a, b = Console(client_a, settings), Console(client_b, settings)
        assert (await a.record(member.id, "check_in", "warm-a"))["pointsAwarded"] == 5
        assert (await b.record(member.id, "check_in", "warm-b"))["pointsAwarded"] == 5

        # When a marketer raises the check-in's points through A
        changed = await a.send(
            Role.MARKETER, "UpdateEventType", code="check_in", input={"basePoints": 7}
        )
        assert changed["__typename"] == "EventTypeSaved", changed

        # Then B's very next check-in pays the new points
        assert (await b.record(member.id, "check_in", "after-change"))["pointsAwarded"] == 7

        # When a marketer creates a task through A that every share completes
        created = await a.send(
            Role.MARKETER,
            "CreateGrowthTask",
            input={
                "code": "share-any",
                "name": "Share anything",
                "eventType": "share",
                "condition": "COUNT",
                "target": 1,
                "perWindowLimit": None,
                "rewardPoints": 40,
            },
        )
        assert created["__typename"] == "GrowthTaskSaved", created

        # Then B's very next share completes it; and A, once warm with the task...
        shared = await b.record(member.id, "share", "share-on-b")
        assert [t["code"] for t in shared["tasksCompleted"]] == ["share-any"]
        assert shared["pointsAwarded"] == 2 + 40
        shared = await a.record(member.id, "share", "share-on-a")
        assert [t["code"] for t in shared["tasksCompleted"]] == ["share-any"]

        # ...when the marketer archives it through B
        archived = await b.send(
            Role.MARKETER, "SetGrowthTaskStatus", id=created["task"]["id"], status="ARCHIVED"
        )
        assert archived["__typename"] == "GrowthTaskSaved", archived

        # Then A's very next share no longer completes it
        shared = await a.record(member.id, "share", "share-after-archive")
        assert (shared["tasksCompleted"], shared["pointsAwarded"]) == ([], 2)

        # And the event type change reached A as well
        assert (await a.record(member.id, "check_in", "a-after-change"))["pointsAwarded"] == 7
