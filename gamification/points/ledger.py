"""Points rules shared by every way points enter or leave a member's ledger."""

from __future__ import annotations

from enum import StrEnum

from gamification.shared.problems import Problem

MAX_REASON_LENGTH = 200
MAX_IDEMPOTENCY_KEY_LENGTH = 128


class LedgerKind(StrEnum):
    """Why a ledger row exists. Balances are the sum of rows of every kind."""

    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    ADJUST = "adjust"
    # Points moved between two members by a merge: out of the duplicate, into the survivor
    # (a pair that nets to zero: neither issued nor spent).
    TRANSFER = "transfer"


class LedgerSource(StrEnum):
    """Who wrote a ledger row; idempotency keys are unique per source."""

    MANUAL = "manual"
    DEMO = "demo"
    EVENT = "event"
    REVERSAL = "reversal"
    REDEMPTION = "redemption"
    EXPIRY = "expiry"
    MERGE = "merge"


def check_award(
    *, amount: int, reason: str, idempotency_key: str, max_amount: int
) -> list[Problem]:
    """Everything wrong with a manual award, in field order (empty when it may proceed)."""
    problems: list[Problem] = []
    if amount <= 0:
        problems.append(Problem("amount", "must be a positive number of points"))
    elif amount > max_amount:
        problems.append(Problem("amount", f"must be at most {max_amount} points per award"))
    if not reason.strip():
        problems.append(Problem("reason", "must not be empty"))
    elif len(reason) > MAX_REASON_LENGTH:
        problems.append(Problem("reason", f"must be at most {MAX_REASON_LENGTH} characters"))
    if not idempotency_key.strip():
        problems.append(Problem("idempotencyKey", "must not be empty"))
    elif len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        problems.append(
            Problem("idempotencyKey", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        )
    return problems
