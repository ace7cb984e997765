"""The member app's home screen (``Me``) is answered from memory while nothing it shows
has changed, and executed afresh the moment anything it shows has.

What it shows depends on the member's row, the programme snapshot (named by the
programme stamp) and two steps of the clock (the next evaluation date, a ladder version
taking effect); each of them changing gives a fresh answer here, through the API a client
uses.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette

from app.auth import Role
from app.models import Member, Tier
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.clock import TestClock
from tests.factories import ClientAs, graphql
from tests.operations import payload

TIERS = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 100, 80, Decimal("1.10")),
)


def screens(app: Starlette) -> Any:
    found = app.state.graphql.schema.home_screens
    assert found is not None
    return found


async def me(client: httpx.AsyncClient) -> dict[str, Any]:
    body = (await client.post("/graphql", json=payload("Me"))).json()
    assert "errors" not in body, body["errors"]
    return body["data"]["me"]


async def signed_in_member(client_as: ClientAs) -> tuple[Member, httpx.AsyncClient]:
    await factories.ladder(tiers=TIERS)
    member = await factories.member()
    return member, await client_as(Role.MEMBER, member)


async def test_an_unchanged_home_screen_is_answered_from_memory(client_as, app, clock):
    # Given a member who has looked at the home screen once
    clock.set(clock.now())
    _, client = await signed_in_member(client_as)
    first = await me(client)
    hits = screens(app).hits

    # When they look again with nothing changed
    again = await me(client)

    # Then the same answer comes back, without executing the document
    assert again == first
    assert screens(app).hits == hits + 1


async def test_an_event_shows_at_once(client_as, app, clock: TestClock):
    # Given a member who has looked at the home screen
    clock.set(clock.now())
    member, client = await signed_in_member(client_as)
    before = await me(client)

    # When an event raises their points and growth
    await factories.event(member, "purchase", amount="150")
    after = await me(client)

    # Then the home screen shows the new balance and tier
    assert before["tier"]["code"] == "member"
    assert after["pointsBalance"] > before["pointsBalance"]
    assert after["tier"]["code"] == "silver"
    assert after["tierProgress"]["current"]["code"] == "silver"


async def test_a_catalogue_change_shows_at_once(client_as, app, clock):
    # Given a member who has looked at the home screen twice (the second from memory)
    clock.set(clock.now())
    _, client = await signed_in_member(client_as)
    await me(client)
    await me(client)

    # When a marketer renames the next tier (any writer moves the programme stamp)
    await Tier.filter(code="silver").update(name="Argent")
    after = await me(client)

    # Then the next look shows the new name
    assert after["tierProgress"]["next"]["name"] == "Argent"


async def test_the_next_evaluation_date_moves_on_when_the_clock_passes_it(client_as, app, clock):
    # Given a member who has looked at the home screen
    clock.set(clock.now())
    member, client = await signed_in_member(client_as)
    before = await me(client)
    hits = screens(app).hits

    # When the clock passes the next evaluation date (with a token of that day)
    clock.advance(timedelta(days=32))
    client = await client_as(Role.MEMBER, member)
    after = await me(client)

    # Then the answer is computed afresh, with a later evaluation date
    assert screens(app).hits == hits
    assert after["tierProgress"]["nextEvaluationAt"] > before["tierProgress"]["nextEvaluationAt"]


async def test_another_members_screen_is_never_served(client_as, app, clock):
    # Given one member who has looked at the home screen
    clock.set(clock.now())
    _, client = await signed_in_member(client_as)
    first = await me(client)

    # When another member signs in on the same server
    other = await factories.member()
    client = await client_as(Role.MEMBER, other)
    theirs = await me(client)

    # Then they see themselves
    assert theirs["id"] != first["id"]
    assert theirs["externalId"] == other.external_id


async def test_a_document_reading_more_than_the_home_screen_is_executed(client_as, app, clock):
    # Given a member with a task, who has looked at their tasks once
    clock.set(clock.now())
    member, client = await signed_in_member(client_as)
    await factories.task(code="daily", target=2)
    query = "{ me { pointsBalance tasks { code progress } } }"
    await graphql(client, query)
    hits = screens(app).hits

    # When an event makes progress and they look again
    await factories.event(member)
    body = await graphql(client, query)

    # Then the progress shows (tasks are not kept), and nothing was answered from memory
    assert body["data"]["me"]["tasks"] == [{"code": "daily", "progress": "1"}]
    assert screens(app).hits == hits
