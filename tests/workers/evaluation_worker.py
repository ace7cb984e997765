"""The production worker for the SIGTERM test, on a queue of its own and without cron (the
test, not the clock, says what runs): ``arq tests.workers.evaluation_worker.WorkerSettings``."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from arq.connections import RedisSettings

from workers import settings

production = settings.WorkerSettings


class WorkerSettings:
    # arq reads only the class's own attributes, so they are named here one by one.
    functions: ClassVar[list[Any]] = production.functions
    on_startup = production.on_startup
    on_shutdown = production.on_shutdown
    job_serializer = production.job_serializer
    job_deserializer = production.job_deserializer
    queue_name = os.environ["LAUREL_TEST_QUEUE"]
    redis_settings = RedisSettings.from_dsn(os.environ["LAUREL_REDIS_URL"])
