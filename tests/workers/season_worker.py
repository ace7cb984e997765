"""The production worker on a queue of the test's own, without the cron schedule, for
tests that run it as a separate process: ``arq tests.workers.season_worker.WorkerSettings``.

arq reads a settings class's own ``__dict__`` (not inherited attributes), so this is a
copy of the real settings as a dict, with the queue named by ``LAUREL_TEST_QUEUE``.
"""

from __future__ import annotations

import os
from typing import Any

from workers import settings

WorkerSettings: dict[str, Any] = {
    **{k: v for k, v in vars(settings.WorkerSettings).items() if not k.startswith("_")},
    "queue_name": os.environ["LAUREL_TEST_QUEUE"],
    "cron_jobs": [],
}
