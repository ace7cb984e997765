"""arq jobs of the points domain. Each is idempotent: arq may run a job more than once after
a crash."""

from __future__ import annotations

import logging
from typing import Any

from app.services.points.ledger import balance_mismatches

logger = logging.getLogger("laurel.jobs")


async def check_ledger_integrity(ctx: dict[str, Any], *, limit: int = 100) -> dict[str, Any]:
    """Compare every member's balance with the sum of their ledger, in one set-based query.

    Read-only, so running it twice is harmless. Mismatches are logged as errors (they mean
    a bug or a manual database edit) and returned for whoever enqueued the check.
    """
    mismatches = await balance_mismatches(limit=limit)
    for m in mismatches:
        logger.error(
            "balance differs from ledger",
            extra={
                "fields": {
                    "member_id": m.member_id,
                    "balance": m.balance,
                    "ledger_sum": m.ledger_sum,
                }
            },
        )
    return {
        "mismatches": len(mismatches),
        "members": [m.member_id for m in mismatches],
    }
