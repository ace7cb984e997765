"""The arq worker relays the outbox too: API nodes may only serve."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from redis.asyncio import Redis

from app import db
from app.models import OutboxMessage
from app.services.notifications.updates import CHANNELS
from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent


async def test_a_worker_relays_committed_changes_to_redis(postgres_settings, redis_url):
    settings = postgres_settings
    prefix = f"laurel-test-{uuid.uuid4().hex[:8]}:"
    async with db.connect(settings):
        member = await factories.member()
    listener = Redis.from_url(redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(f"{prefix}{CHANNELS}{member.id}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAUREL_")}
    env.update(
        LAUREL_DATABASE_URL=settings.database_url,
        LAUREL_REDIS_URL=redis_url,
        LAUREL_REDIS_PREFIX=prefix,
        LAUREL_JWT_SECRET=settings.jwt_secret or "",
        LAUREL_LOG_LEVEL="WARNING",
        LAUREL_OUTBOX_POLL_SECONDS="0.2",
    )
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "arq", "workers.settings.WorkerSettings"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with db.connect(settings):
            # Committed here, in another process than the worker: it finds it by polling.
            recorded = await factories.event(member, "purchase", amount="40")
            message = None
            for _ in range(100):
                message = await pubsub.get_message(timeout=0.2)
                if message is not None:
                    break
            assert message is not None, "no update published by the worker"
            assert f'"delta": {recorded.outcome["points"]}' in message["data"].decode()
            # The sinks publish before the relay commits `processed_at`: wait for that commit.
            for _ in range(50):
                if not await OutboxMessage.filter(processed_at__isnull=True).exists():
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the worker published but never marked the row relayed")
    finally:
        worker.terminate()
        assert await worker.wait() == 0
        await pubsub.aclose()
        await listener.aclose()
