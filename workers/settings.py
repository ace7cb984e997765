"""The arq worker: ``arq workers.settings.WorkerSettings`` (``make worker``).

Jobs are serialised as JSON, not pickle, so a job payload in Redis can never execute code.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from arq import cron
from arq.connections import RedisSettings

from app import db
from app.config import Settings
from app.observability import configure_logging
from workers.jobs import check_ledger_integrity

# arq's --check considers the worker healthy while this key is fresh.
HEALTH_CHECK_SECONDS = 10


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or Settings()
    configure_logging(settings.log_level)
    stack = AsyncExitStack()
    await stack.enter_async_context(db.connect(settings))
    ctx["settings"] = settings
    ctx["exit_stack"] = stack


async def shutdown(ctx: dict[str, Any]) -> None:
    # The ORM handle lives in ctx and is closed explicitly (Tortoise keeps connections).
    stack: AsyncExitStack | None = ctx.pop("exit_stack", None)
    if stack is not None:
        await stack.aclose()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw)


_settings = Settings()


class WorkerSettings:
    functions: ClassVar[list[Any]] = [check_ledger_integrity]
    cron_jobs: ClassVar[list[Any]] = [
        # Nightly in the programme's time zone, when traffic is lowest.
        cron(check_ledger_integrity, hour={3}, minute={17}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = staticmethod(_dumps)
    job_deserializer = staticmethod(_loads)
    health_check_interval = HEALTH_CHECK_SECONDS
    timezone = ZoneInfo(_settings.timezone)
    # Unset LAUREL_REDIS_URL leaves arq's default, localhost:6379 (`make worker` insists on it).
    redis_settings = RedisSettings.from_dsn(_settings.redis_url) if _settings.redis_url else None
