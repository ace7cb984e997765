"""The arq worker: ``arq workers.settings.WorkerSettings`` (``make worker``).

Jobs are serialised as JSON, not pickle, so a job payload in Redis can never execute code.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func
from redis.asyncio import Redis
from tortoise.context import TortoiseContext

from app import db
from app.config import Settings
from app.observability import configure_logging
from app.services.leaderboards.index import redis_index
from app.services.notifications.relay import OutboxRelay, relay_sinks
from app.services.notifications.updates import redis_broker
from workers.activity import import_csv
from workers.jobs import SCHEDULED
from workers.points import check_ledger_integrity
from workers.seasons import grant_season_benefits
from workers.tiers import apply_tier_evaluation
from workers.webhooks import EVERY_5_SECONDS, send_webhook_deliveries

REDIS_TIMEOUT_SECONDS = 2.0
# arq's --check considers the worker healthy while this key is fresh.
HEALTH_CHECK_SECONDS = 10
# arq stops a job after 300 s by default; a million-row import on SQLite takes longer.
IMPORT_TIMEOUT_SECONDS = 6 * 3600


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or Settings()
    configure_logging(settings.log_level)
    ctx["settings"] = settings
    # arq runs startup and shutdown in different tasks: a task-bound ``async with``
    # context could not be left in shutdown, so the ORM is the process's global context.
    ctx["orm"] = await db.open_for_process(settings)
    if settings.relay_outbox and settings.redis_url:
        # The worker relays the outbox too (one relay at a time, by a PostgreSQL lock), so
        # API nodes may run with LAUREL_RELAY_OUTBOX=0 and only serve.
        redis = Redis.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS)
        broker = redis_broker(settings, connect_timeout=REDIS_TIMEOUT_SECONDS)
        relay = OutboxRelay(
            sinks=relay_sinks(index=redis_index(settings, redis), broker=broker),
            poll_seconds=settings.outbox_poll_seconds,
        )
        relay.start()
        ctx["relay"] = (relay, broker, redis)


async def shutdown(ctx: dict[str, Any]) -> None:
    relaying = ctx.pop("relay", None)
    if relaying is not None:
        relay, broker, redis = relaying
        await relay.stop()
        await broker.close()
        await redis.aclose()
    # The ORM handle lives in ctx and is closed explicitly (Tortoise keeps connections).
    orm: TortoiseContext | None = ctx.pop("orm", None)
    if orm is not None:
        await orm.close_connections()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw)


_settings = Settings()


class WorkerSettings:
    functions: ClassVar[list[Any]] = [
        check_ledger_integrity,
        grant_season_benefits,
        apply_tier_evaluation,
        func(import_csv, timeout=IMPORT_TIMEOUT_SECONDS),
        send_webhook_deliveries,
        *SCHEDULED,
    ]
    # Every scheduled job fires each minute and runs only when its slot is due and not yet
    # done (app/services/jobs/schedule.py): a worker that was down at 03:17 still runs the
    # nightly job when it comes back, and two workers never run one slot twice.
    cron_jobs: ClassVar[list[Any]] = [
        *(cron(job, second={0}, unique=True) for job in SCHEDULED),
        cron(send_webhook_deliveries, second=EVERY_5_SECONDS, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = staticmethod(_dumps)
    job_deserializer = staticmethod(_loads)
    health_check_interval = HEALTH_CHECK_SECONDS
    timezone = ZoneInfo(_settings.timezone)
    # The queue lives under LAUREL_REDIS_PREFIX like every other Laurel key.
    queue_name = _settings.redis_prefix + "queue"
    # Unset LAUREL_REDIS_URL leaves arq's default, localhost:6379 (`make worker` insists on it).
    redis_settings = RedisSettings.from_dsn(_settings.redis_url) if _settings.redis_url else None
