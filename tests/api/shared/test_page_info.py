"""``pageInfo`` as the Relay connection spec has it: ``hasPreviousPage`` is a Boolean that
tells the truth about the list as it is now, and ``startCursor`` opens the page."""

from __future__ import annotations

from datetime import timedelta

from app.models import Season
from tests import factories
from tests.factories import operation


async def test_a_later_page_has_a_previous_page_and_the_first_has_none(client):
    for _ in range(3):
        await factories.member()
    first = (await operation(client, "Members", first=2))["members"]
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["hasNextPage"] is True

    second = (await operation(client, "Members", first=2, after=first["pageInfo"]["endCursor"]))[
        "members"
    ]
    assert len(second["edges"]) == 1
    assert second["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": second["edges"][0]["cursor"],
    }


async def test_has_previous_page_reads_the_list_as_it_is_now(client):
    now = factories.now()
    seasons = [
        await Season.create(
            code=f"s{n}",
            name=f"Season {n}",
            starts_at=now + timedelta(days=n),
            ends_at=now + timedelta(days=n + 1),
        )
        for n in range(3)
    ]
    first = (await operation(client, "Seasons", first=1))["seasons"]  # newest first
    cursor = first["pageInfo"]["endCursor"]
    later = (await operation(client, "Seasons", first=1, after=cursor))["seasons"]
    assert later["pageInfo"]["hasPreviousPage"] is True

    # The season the cursor came from is archived: nothing listed comes before the page.
    await Season.filter(id=seasons[2].id).update(archived_at=now)
    again = (await operation(client, "Seasons", first=1, after=cursor))["seasons"]
    assert [e["node"]["code"] for e in again["edges"]] == ["s1"]
    assert again["pageInfo"]["hasPreviousPage"] is False
    with_archived = await operation(client, "Seasons", first=1, after=cursor, includeArchived=True)
    assert with_archived["seasons"]["pageInfo"]["hasPreviousPage"] is True


async def test_start_cursor_is_the_first_edges(client):
    for _ in range(2):
        await factories.member()
    body = await factories.graphql(
        client, "{ members(first: 2) { edges { cursor } pageInfo { startCursor endCursor } } }"
    )
    page = body["data"]["members"]
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
