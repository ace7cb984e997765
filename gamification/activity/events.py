"""Rules for accepting a reported event before the engine sees it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from gamification.shared.problems import Problem

MAX_AMOUNT = Decimal("10000000")
MAX_ATTRIBUTES_BYTES = 4096
MAX_IDEMPOTENCY_KEY_LENGTH = 128
# Clocks of a brand's back end and ours may disagree a little; more is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)


def check_event(
    *,
    amount: Decimal,
    occurred_at: datetime,
    attributes: Mapping[str, Any],
    idempotency_key: str,
    joined_at: datetime,
    now: datetime,
    backfill_window: timedelta,
) -> list[Problem]:
    """Everything wrong with an event, in field order (empty when it may proceed)."""
    problems: list[Problem] = []
    if not idempotency_key.strip():
        problems.append(Problem("idempotencyKey", "must not be empty"))
    elif len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        problems.append(
            Problem("idempotencyKey", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        )
    if amount < 0:
        problems.append(Problem("amount", "must not be negative"))
    elif amount > MAX_AMOUNT:
        problems.append(Problem("amount", f"must be at most {MAX_AMOUNT}"))
    elif amount != amount.quantize(Decimal("0.01")):
        problems.append(Problem("amount", "must have at most 2 decimal places"))
    if occurred_at.tzinfo is None:
        problems.append(Problem("occurredAt", "must include a time zone offset"))
    elif occurred_at > now + FUTURE_TOLERANCE:
        problems.append(Problem("occurredAt", "must not be more than 5 minutes in the future"))
    elif occurred_at < joined_at:
        problems.append(Problem("occurredAt", "must not be before the member joined"))
    elif occurred_at < now - backfill_window:
        days = backfill_window.days
        problems.append(Problem("occurredAt", f"must be within the last {days} days"))
    if len(canonical_json(attributes)) > MAX_ATTRIBUTES_BYTES:
        problems.append(
            Problem("attributes", f"must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON")
        )
    return problems


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def payload_hash(
    *,
    member_id: int,
    type: str,
    occurred_at: datetime,
    amount: Decimal,
    attributes: Mapping[str, Any],
) -> str:
    """A fingerprint of what an event says, to tell a retry from a different event."""
    payload = {
        "member": member_id,
        "type": type,
        "occurred_at": occurred_at.timestamp(),
        "amount": str(amount.normalize()),
        "attributes": attributes,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()
