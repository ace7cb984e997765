"""A page of members costs a fixed number of SQL statements, however long the page.

Each relation a member carries (tier, tier progress, tasks, badges) is read for the whole
page at once through the request's DataLoaders; a statement per member would show here as
a count that grows with ``first``. Batching must not turn into caching: a member read
again after a mutation of the same document shows the mutation's effect.

The member app's home screen (``Me``) is one statement: the member's row with the
programme stamp beside it; its tier and progress come from the programme snapshot that
stamp names, which a catalogue change replaces before the next read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from app import db
from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import Tier
from gamification.badges import BadgeMetric
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.factories import graphql
from tests.operations import payload

PAGE = """
query Page($first: Int!) {
  members(first: $first) {
    edges { node {
      externalId
      tier { code }
      tierProgress { current { code } next { code } growthToNext percent atRisk }
      badges { code level value nextThreshold }
      tasks { code progress completionsInWindow remainingCap }
    } }
  }
}
"""

EXECUTE_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)


@contextmanager
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement sent through the ORM's client while the block runs."""
    # The class, not the instance: tortoise may hand another task its own client object.
    client = type(db.connection())
    sent: list[str] = []
    with monkeypatch.context() as patch:
        for name in EXECUTE_METHODS:
            original = getattr(client, name)

            async def counted(self: Any, query: str, *args: Any, _original: Any = original) -> Any:
                sent.append(query)
                return await _original(self, query, *args)

            patch.setattr(client, name, counted)
        yield sent


async def programme_with_history(members: int) -> None:
    """A ladder, tasks and badges of every kind the page shows, and members part way."""
    await factories.ladder(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
            TierRule("silver", "Silver", 1, 100, 80, Decimal("1.10")),
        )
    )
    await factories.task(code="daily", window=Window.DAY, reward_points=5)
    await factories.task(
        code="spend",
        event_type="purchase",
        condition=Condition.SUM,
        target=500,
        window=Window.WEEK,
        per_window_limit=None,
    )
    await factories.task(code="refer", event_type="referral", target=2, cap=1)
    await factories.task(code="silver-only", min_tier_rank=1)
    await factories.badge(code="doer", thresholds=[1, 3])
    await factories.badge(code="spender", metric=BadgeMetric.EVENTS, subject="purchase")
    await factories.badge(code="insider", metric=BadgeMetric.TASK_COMPLETED, subject="x")
    await factories.badge(
        code="secret", metric=BadgeMetric.LIFETIME_POINTS, thresholds=[10_000], hidden=True
    )
    enrolled = [await factories.member() for _ in range(members)]
    for n, member in enumerate(enrolled[:12]):
        if n % 2 == 0:
            await factories.event(member)  # completes "daily", which earns "doer"
        if n % 3 == 1:
            await factories.event(member, "purchase", amount="150")  # reaches Silver
        if n % 4 == 0:
            await factories.event(member, "referral")


async def page_statements(client: Any, monkeypatch: pytest.MonkeyPatch, first: int) -> list[str]:
    with statements(monkeypatch) as sent:
        body = await graphql(client, PAGE, {"first": first})
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["members"]["edges"]) == first
    return sent


async def test_a_page_of_members_costs_the_same_statements_at_5_and_at_50(client, monkeypatch):
    await programme_with_history(50)

    small = await page_statements(client, monkeypatch, 5)
    large = await page_statements(client, monkeypatch, 50)

    listing = "\n".join(large)
    # members: the page (first + 1 rows) and the programme stamp beside them     1
    # tier, tierProgress: the programme snapshot of that stamp, in memory        0
    # tasks: active tasks with seasons, the page's task facts, its progress rows 3
    # badges: the badges, the page's facts they read, its badge levels           3
    assert len(large) == 7, listing
    assert len(small) == len(large), "\n".join(small)


async def test_the_page_shows_each_members_own_progress(client):
    await programme_with_history(6)

    body = await graphql(client, PAGE, {"first": 6})

    nodes = {e["node"]["externalId"]: e["node"] for e in body["data"]["members"]["edges"]}
    checked_in_and_referred, bought, checked_in, idle, did_all, _ = nodes.values()

    def tasks(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {t["code"]: t for t in node["tasks"]}

    def badges(node: dict[str, Any]) -> dict[str, int]:
        return {b["code"]: b["level"] for b in node["badges"]}

    assert [n["tier"]["code"] for n in nodes.values()] == [
        "member",
        "silver",
        "member",
        "member",
        "silver",
        "member",
    ]
    assert set(tasks(idle)) == {"daily", "spend", "refer"}
    assert set(tasks(checked_in)) == {"spend", "refer"}
    assert set(tasks(bought)) == {"daily", "spend", "refer", "silver-only"}
    assert set(tasks(did_all)) == {"spend", "refer", "silver-only"}
    assert tasks(checked_in_and_referred)["refer"]["progress"] == "1"
    assert tasks(checked_in_and_referred)["refer"]["remainingCap"] == 1
    assert tasks(bought)["spend"]["progress"] == "150.00"
    assert badges(idle) == {"doer": 0, "spender": 0, "insider": 0}
    assert badges(checked_in) == {"doer": 1, "spender": 0, "insider": 0}
    assert badges(did_all) == {"doer": 1, "spender": 1, "insider": 0}


TWO_CHECK_INS = """
mutation Twice($a: RecordEventInput!, $b: RecordEventInput!) {
  first: recordEvent(input: $a) { ...Progress }
  second: recordEvent(input: $b) { ...Progress }
}
fragment Progress on RecordEventResult {
  ... on EventRecorded { member { tasks { code progress } badges { code level } } }
}
"""


async def test_a_member_read_after_each_mutation_shows_fresh_progress(client):
    await factories.task(code="check-in-3", target=3, reward_points=0)
    await factories.badge(
        code="regular", metric=BadgeMetric.EVENTS, subject="check_in", thresholds=[1, 2]
    )
    member = await factories.member()
    event = {
        "memberId": encode_id("Member", member.id),
        "type": "check_in",
        "occurredAt": factories.now().isoformat(),
    }

    body = await graphql(
        client,
        TWO_CHECK_INS,
        {"a": event | {"idempotencyKey": "a"}, "b": event | {"idempotencyKey": "b"}},
    )

    assert "errors" not in body, body["errors"]
    first, second = (body["data"][k]["member"] for k in ("first", "second"))
    assert first["tasks"] == [{"code": "check-in-3", "progress": "1"}]
    assert second["tasks"] == [{"code": "check-in-3", "progress": "2"}]
    assert first["badges"] == [{"code": "regular", "level": 1}]
    assert second["badges"] == [{"code": "regular", "level": 2}]


async def me(client: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[str]]:
    with statements(monkeypatch) as sent:
        response = await client.post("/graphql", json=payload("Me"))
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["me"], sent


async def test_the_home_screen_is_one_statement(client_as, monkeypatch):
    await programme_with_history(3)
    member = await factories.member()
    await factories.event(member, "purchase", amount="150")  # reaches Silver, the top
    client = await client_as(Role.MEMBER, member)
    await me(client, monkeypatch)  # the process has the programme from here on

    shown, sent = await me(client, monkeypatch)

    # member: its row and the programme stamp                                    1
    # tier, tierProgress: the programme snapshot of that stamp, in memory        0
    assert len(sent) == 1, "\n".join(sent)
    assert "programme_stamp" in sent[0]
    assert shown["tier"]["code"] == "silver"
    assert shown["tierProgress"]["current"]["code"] == "silver"
    assert shown["tierProgress"]["next"] is None


async def test_the_home_screen_shows_a_catalogue_change_at_once(client_as, monkeypatch):
    await programme_with_history(1)
    member = await factories.member()
    client = await client_as(Role.MEMBER, member)
    before, _ = await me(client, monkeypatch)

    # Any writer, even raw SQL beside the API, moves the programme stamp.
    await Tier.filter(code="silver").update(name="Argent", entry_threshold=120)
    after, sent = await me(client, monkeypatch)

    assert before["tierProgress"]["next"] == {
        "id": before["tierProgress"]["next"]["id"],
        "code": "silver",
        "name": "Silver",
        "entryThreshold": 100,
    }
    assert after["tierProgress"]["next"]["name"] == "Argent"
    assert after["tierProgress"]["next"]["entryThreshold"] == 120
    assert after["tierProgress"]["growthToNext"] == 120
    # The stale snapshot is replaced by reading the programme: more than one statement.
    assert len(sent) > 1
