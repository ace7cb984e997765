"""The member portal: the signed-in member's tier, points, tasks, badges and boards, and
nobody else's."""

from __future__ import annotations

import asyncio

from app.services.notifications.updates import LocalBroker, MemberUpdate, UpdateKind
from app.web.portal.live import member_events
from tests import factories
from tests.web.shared.browsing import signed_in


async def test_the_portal_shows_the_members_tier_points_tasks_and_badges(app):
    ada = await factories.member(external_id="crm-ada", display_name="Ada")
    await factories.task(code="check-in-3", name="Check in three times", target=3)
    await factories.badge(code="hidden-gem", name="Hidden gem", hidden=True, thresholds=[5])
    await factories.event(ada, "check_in")

    async with signed_in(app, "member", "crm-ada") as member:
        page = await member.http.get("/portal")

    assert page.status_code == 200
    text = page.text
    assert "Your tier" in text and "Next evaluation" in text
    assert "Check in three times" in text and "1 of 3" in text
    assert "Hidden gem" not in text and text.count('class="hidden-badge"') == 1
    assert "Latest changes" in text


async def test_a_member_sees_only_itself(app):
    await factories.member(external_id="crm-ada", display_name="Ada Lovelace")
    await factories.member(external_id="crm-bob", display_name="Bob Secret")

    async with signed_in(app, "member", "crm-ada") as ada:
        own = await ada.http.get("/portal")
        # The portal takes no member from the request: whatever is asked, it is `me`.
        asked = await ada.http.get("/portal?member=crm-bob&externalId=crm-bob")
        console = await ada.http.get("/console/members")

    assert "Ada Lovelace" in own.text and "Bob Secret" not in own.text
    assert "Bob Secret" not in asked.text
    assert console.status_code == 403 and "Bob Secret" not in console.text


async def test_staff_cannot_open_the_portal(app):
    async with signed_in(app, "marketer") as marketer:
        response = await marketer.http.get("/portal")

    assert response.status_code == 403


async def test_the_live_part_is_the_members_state_now(app):
    ada = await factories.member(external_id="crm-ada")
    await factories.task(code="check-in-3", name="Check in three times", target=3)

    async with signed_in(app, "member", "crm-ada") as member:
        before = await member.http.get("/portal/part")
        await factories.event(ada, "check_in")
        after = await member.http.get("/portal/part")

    assert "0 of 3" in before.text and "<html" not in before.text
    assert "1 of 3" in after.text


async def test_the_live_stream_tells_the_page_when_its_member_changes():
    broker = LocalBroker()
    stream = member_events(broker, 7, keepalive=0.05)
    assert await anext(stream) == ": connected\n\n"
    assert await anext(stream) == ": keepalive\n\n"

    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    update = MemberUpdate(
        id="u1", member_id=7, kind=UpdateKind.POINTS_CHANGED, at=factories.now(), data={}
    )
    other = MemberUpdate(
        id="u2", member_id=8, kind=UpdateKind.TIER_CHANGED, at=factories.now(), data={}
    )
    await broker.publish([other, update])

    assert await asyncio.wait_for(waiting, 2) == "event: changed\ndata: points_changed\n\n"

    promoted = MemberUpdate(
        id="u3",
        member_id=7,
        kind=UpdateKind.TIER_CHANGED,
        at=factories.now(),
        data={"from": "member", "to": "silver"},
    )
    await broker.publish([promoted])
    assert await asyncio.wait_for(anext(stream), 2) == "event: changed\ndata: tier_changed\n\n"
    assert await asyncio.wait_for(anext(stream), 2) == "event: tier_changed\ndata: silver\n\n"
    await stream.aclose()


async def test_a_member_leaves_the_public_boards_and_comes_back(app):
    await factories.member(external_id="crm-ada")

    async with signed_in(app, "member", "crm-ada") as member:
        hidden = await member.send(
            "/portal/boards/visibility", {"visible": "false"}, page="/portal"
        )
        page = await member.http.get("/portal")
        shown = await member.send("/portal/boards/visibility", {"visible": "true"}, page="/portal")
        again = await member.http.get("/portal")

    assert hidden.status_code == shown.status_code == 303
    assert "Others do not see you on the boards" in page.text
    assert "Show me on the boards" in page.text
    assert "Hide me from others" in again.text


async def test_the_ceremony_is_for_a_promotion_only(app):
    await factories.member(external_id="crm-ada")

    async with signed_in(app, "member", "crm-ada") as member:
        same = await member.http.get("/portal/ceremony?since=0")
        up = await member.http.get("/portal/ceremony?since=-1")

    assert "Welcome" not in same.text
    assert "Welcome to" in up.text
