"""What one event costs in SQL statements, and that the programme comes from the cache.

An event that completes a task, earns a badge and awards points is the common case of the
hot path. On PostgreSQL it sends three statements inside its transaction (lock the member
and read the programme stamp; read its state and claim the active day; write everything),
five round trips with BEGIN and COMMIT. The count does not grow with the programme's size:
the catalogue is read only when its stamp moved.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.models import EventType
from app.services.activity.events import EventInput, record_events
from gamification.shared.calendar import Window
from tests import factories
from tests.api.members.test_query_counts import statements
from tests.factories import POLICY

pytestmark = pytest.mark.usefixtures("orm")


async def busy_programme() -> None:
    """A ladder, several tasks and badges on check-ins, so a cost per task would show."""
    await factories.ladder()
    for n in range(6):
        await factories.task(code=f"daily-{n}", window=Window.DAY, reward_points=5)
    for n in range(4):
        await factories.badge(code=f"doer-{n}", thresholds=[1, 100])


async def test_an_event_that_completes_tasks_and_earns_badges_sends_three_statements(
    backend, monkeypatch
):
    # Given a programme already read by an earlier event of this process
    await busy_programme()
    warm, member = await factories.member(), await factories.member()
    await factories.event(warm)

    # When a member's check-in completes six tasks and earns four badges
    with statements(monkeypatch) as sent:
        recorded = await factories.event(member)

    # Then it cost a fixed handful of statements, whatever the programme holds
    assert len(recorded.outcome["tasksCompleted"]) == 6
    assert len(recorded.outcome["badgesEarned"]) == 4
    if backend == "postgres":
        assert len(sent) == 3, sent  # + BEGIN and COMMIT: five round trips
    else:  # SQLite runs a group's statements one by one, in process: one per table
        written = [
            m[1]
            for s in sent
            if (m := re.match(r"(?:INSERT INTO|UPDATE) (\w+)", s)) and m[1] != "sqlite_sequence"
        ]
        assert len(written) == len(set(written)), written
        assert len(sent) <= 20, sent
    assert not any("FROM growth_task" in s or "FROM badge" in s for s in sent)


async def test_a_batch_costs_what_one_event_costs(backend, monkeypatch):
    # Given members and a warm programme
    await busy_programme()
    members = [await factories.member() for _ in range(20)]
    await factories.event(members[0], key="warm")
    one = [
        EventInput(
            type="check_in",
            occurred_at=factories.now(),
            idempotency_key="one",
            member_id=members[1].id,
        )
    ]
    many = [
        EventInput(
            type="purchase",
            occurred_at=factories.now(),
            idempotency_key=f"many-{n}",
            member_id=m.id,
            amount=Decimal(10),
        )
        for n, m in enumerate(members[2:] * 5)
    ]

    # When one event and a batch of 90 are recorded
    with statements(monkeypatch) as single:
        await record_events(one, policy=POLICY, now=factories.now())
    with statements(monkeypatch) as batch:
        results = await record_events(many, policy=POLICY, now=factories.now())

    # Then the batch sends no more statements than the single event
    assert all(not isinstance(r, Exception) for r in results)
    assert len(batch) <= len(single), (single, batch)


async def test_a_catalogue_change_is_read_by_the_next_event(backend, monkeypatch):
    # Given a warm programme
    await factories.ladder()
    member = await factories.member()
    await factories.event(member, "purchase", amount="10")

    # When a marketer's change to the event type commits (raw SQL would do the same)
    await EventType.filter(code="purchase").update(points_per_unit=Decimal(3))
    recorded = await factories.event(member, "purchase", amount="10")

    # Then the very next event pays by the new rule
    assert recorded.outcome["points"] == 30
