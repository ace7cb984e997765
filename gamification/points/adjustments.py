"""Rules for an admin's manual correction of a balance (up or down)."""

from __future__ import annotations

from gamification.points.ledger import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_REASON_LENGTH
from gamification.shared.problems import Problem

MIN_REASON_LENGTH = 5


def check_adjustment(
    *, delta: int, reason: str, idempotency_key: str, max_amount: int
) -> list[Problem]:
    """Everything wrong with a manual adjustment. The reason is mandatory and must say
    something (it is what the audit log and the member's ledger show)."""
    problems: list[Problem] = []
    if delta == 0:
        problems.append(Problem("delta", "must not be 0"))
    elif abs(delta) > max_amount:
        problems.append(Problem("delta", f"must be within ±{max_amount} points"))
    if len(reason.strip()) < MIN_REASON_LENGTH:
        problems.append(
            Problem("reason", f"must say why, in at least {MIN_REASON_LENGTH} characters")
        )
    elif len(reason) > MAX_REASON_LENGTH:
        problems.append(Problem("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
    if not idempotency_key.strip():
        problems.append(Problem("idempotencyKey", "must not be empty"))
    elif len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        problems.append(
            Problem("idempotencyKey", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        )
    return problems
