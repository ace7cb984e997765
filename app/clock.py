"""The app's clock: one callable every request, middleware and job reads "now" from.

Production uses the system clock; tests pass their own (``create_app(settings, clock=...)``)
so that what they record and what the API answers agree on the date, whatever the real
date is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
