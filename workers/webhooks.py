"""arq jobs of the webhooks domain: send due deliveries, every 5 s (workers/settings.py).

The minutely schedule (app/services/jobs/schedule.py) sends them too, which is what runs in
embedded mode; two senders at once take different rows (SKIP LOCKED), so the overlap under
arq is harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.services.webhooks.sending import send_webhooks

# arq cron seconds at which the worker sends.
EVERY_5_SECONDS = set(range(0, 60, 5))


async def send_webhook_deliveries(ctx: dict[str, Any]) -> dict[str, Any]:
    """Send every due delivery; idempotent (a delivery is claimed before it is sent)."""
    return await send_webhooks(settings=ctx["settings"], now=datetime.now(UTC))
