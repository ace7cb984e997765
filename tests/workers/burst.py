"""A real arq worker draining a queue of the test's own: jobs enqueued through Redis, run by
the app's WorkerSettings (its startup, shutdown and serializers), in burst mode."""

from __future__ import annotations

import uuid
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from app.config import Settings
from workers.settings import WorkerSettings


async def run_in_burst(
    settings: Settings,
    redis_url: str,
    *jobs: tuple[str, dict[str, Any]],
    max_jobs: int | None = None,
    result_seconds: float = 30,
) -> list[Any]:
    """Enqueue ``jobs`` (name, keyword arguments), run them until the queue is empty, and
    return each one's result, or the exception it failed with (as arq keeps it).
    ``max_jobs=1`` runs them one after the other."""
    queue = f"laurel-test-{uuid.uuid4().hex}"
    redis = RedisSettings.from_dsn(redis_url)
    pool = await create_pool(
        redis,
        job_serializer=WorkerSettings.job_serializer,
        job_deserializer=WorkerSettings.job_deserializer,
        default_queue_name=queue,
    )
    try:
        enqueued = [await pool.enqueue_job(name, **kwargs) for name, kwargs in jobs]
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_settings=redis,
            queue_name=queue,
            burst=True,
            **({} if max_jobs is None else {"max_jobs": max_jobs}),
            on_startup=WorkerSettings.on_startup,
            on_shutdown=WorkerSettings.on_shutdown,
            job_serializer=WorkerSettings.job_serializer,
            job_deserializer=WorkerSettings.job_deserializer,
            ctx={"settings": settings},
            handle_signals=False,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        results: list[Any] = []
        for job in enqueued:
            assert job is not None
            try:
                results.append(await job.result(timeout=result_seconds))
            except Exception as failed:  # the job's own exception, as arq keeps it
                results.append(failed)
        return results
    finally:
        await pool.aclose()


async def run_one(settings: Settings, redis_url: str, name: str, **kwargs: Any) -> Any:
    """Run one job as above; its result, or its exception raised here."""
    (result,) = await run_in_burst(settings, redis_url, (name, kwargs), result_seconds=10)
    if isinstance(result, Exception):
        raise result
    return result
