"""Where the test suite finds PostgreSQL and Redis, and what happens when they are absent.

Tests that need a service skip with the reason when it cannot be reached, so the suite
passes on a fresh laptop. With LAUREL_REQUIRE_SERVICES=1 (as .ci/run sets) they fail
instead: CI must never go green by skipping them.
"""

from __future__ import annotations

import asyncio
import os

import pytest

POSTGRES_URL = os.environ.get("LAUREL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LAUREL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRED = os.environ.get("LAUREL_REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: str) -> None:
    message = f"{service} unavailable: {reason}"
    if REQUIRED:
        pytest.fail(f"{message} (LAUREL_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def postgres_problem() -> str | None:
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{POSTGRES_URL}: {type(exc).__name__}: {exc}"
    return None


def redis_problem() -> str | None:
    from redis import Redis

    try:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        return f"{REDIS_URL}: {type(exc).__name__}: {exc}"
    return None
