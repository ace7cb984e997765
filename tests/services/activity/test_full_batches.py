"""A full batch (MAX_BATCH events) of the demo programme is recorded by record_events.

Found by the bulk import, whose chunks are full batches: on PostgreSQL the batch's writes
went out as one statement whose parameters (every row of every table written) passed
asyncpg's limit of 32,767 — "the number of query arguments cannot exceed 32767" — and the
whole batch failed. Each table's rows now travel as one JSON parameter.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from app.models import Event, Member
from app.services.activity.events import MAX_BATCH, EventInput, Recorded, record_events
from app.services.points.ledger import balance_mismatches
from app.services.programme.demo import load_demo
from tests import factories
from tests.factories import POLICY

pytestmark = pytest.mark.usefixtures("orm")


async def test_a_full_batch_of_the_demo_programme_is_recorded():
    # Given the demo programme and a full batch of its activity, mostly purchases
    await load_demo(now=factories.now() - timedelta(days=1))
    members = list(await Member.all().values_list("external_id", flat=True))
    rng = random.Random(500)
    now = factories.now()
    batch = [
        EventInput(
            type=rng.choice(["purchase", "purchase", "check_in", "share"]),
            occurred_at=now - timedelta(minutes=rng.randrange(1, 60 * 24 * 20)),
            idempotency_key=f"full-{n}",
            external_member_id=rng.choice(members),
            amount=Decimal(rng.randrange(500, 40_000)) / 100,
        )
        for n in range(MAX_BATCH)
    ]

    # When it is recorded
    results = await record_events(batch, policy=POLICY, now=now)

    # Then every event is, in one batch
    assert all(isinstance(r, Recorded) for r in results), [
        r for r in results if not isinstance(r, Recorded)
    ][:3]
    assert await Event.filter(idempotency_key__startswith="full-").count() == MAX_BATCH
    assert await balance_mismatches() == []
