"""The marketer console: the overview, seasons with their tasks and boards, members and
their points, the audit log. Forms show the API's FieldProblems beside their fields."""

from __future__ import annotations

import re
from datetime import timedelta

from app.api.shared.ids import encode_id
from app.models import Benefit, GrowthTask, Leaderboard, PointsLedgerEntry, Season
from gamification.benefits import BenefitKind
from tests import factories
from tests.web.shared.browsing import signed_in

ZONE_FORMAT = "%Y-%m-%dT%H:%M"


def local(days: float) -> str:
    """A datetime-local input's value, ``days`` from the test's now."""
    return (factories.now() + timedelta(days=days)).astimezone(factories.ZONE).strftime(ZONE_FORMAT)


def problem_of(html: str, form: str, field: str) -> str:
    found = re.search(
        rf'<span class="problem" id="{form}-{field}-problem" data-field="{field}">([^<]*)</span>',
        html,
    )
    assert found, f"no problem shown beside {form}-{field}"
    return found.group(1)


async def test_the_overview_counts_members_per_tier_with_a_chart(app):
    await factories.member()
    await factories.member()

    async with signed_in(app, "marketer") as marketer:
        page = await marketer.http.get("/console")

    assert page.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in page.text
    assert "Members per tier" in page.text
    assert re.search(r'<p class="figure">2</p>', page.text)


async def test_a_marketer_creates_a_season_adds_a_task_and_a_board_and_starts_it(app):
    await factories.ladder()
    async with signed_in(app, "marketer") as marketer:
        created = await marketer.send(
            "/console/seasons",
            {
                "code": "spring",
                "name": "Spring",
                "startsAt": local(2),
                "endsAt": local(30),
                "description": "",
            },
            page="/console/seasons",
        )
        assert created.status_code == 303, created.text
        season_page = created.headers["location"]
        task = await marketer.send(
            f"{season_page}/tasks",
            {
                "code": "spring-visits",
                "name": "Five spring visits",
                "eventType": "check_in",
                "condition": "COUNT",
                "target": "5",
                "window": "SEASON",
                "rewardPoints": "50",
                "rewardBadge": "",
            },
            page=season_page,
        )
        board = await marketer.send(
            f"{season_page}/boards",
            {
                "code": "spring-board",
                "name": "Spring board",
                "metric": "POINTS_EARNED",
                "period": "SEASON",
            },
            page=season_page,
        )
        started = await marketer.send(f"{season_page}/start", {}, page=season_page)
        shown = await marketer.http.get(season_page)

    assert (task.status_code, board.status_code, started.status_code) == (303, 303, 303)
    season = await Season.get(code="spring")
    assert season.starts_at <= factories.now()
    assert (await GrowthTask.get(code="spring-visits")).season_id == season.id
    assert (await Leaderboard.get(code="spring-board")).season_id == season.id
    assert "Five spring visits" in shown.text and "Spring board" in shown.text
    assert "(running)" in shown.text


async def test_a_bad_value_is_shown_beside_its_field(app):
    async with signed_in(app, "marketer") as marketer:
        page = await marketer.send(
            "/console/seasons",
            {"code": "Not A Code!", "name": "Spring", "startsAt": local(30), "endsAt": local(2)},
            page="/console/seasons",
        )

    assert page.status_code == 400
    assert "lowercase" in problem_of(page.text, "season", "code")
    assert problem_of(page.text, "season", "endsAt")
    assert 'id="season-code" name="code" type="text" value="Not A Code!"' in page.text
    assert not await Season.exists()


async def post_seasonal_task(app, **fields: str):
    """A marketer posts the seasonal-task form of a new season with ``fields`` over a valid
    count task; the page it gets back."""
    await factories.ladder()
    season = await Season.create(
        code="s", name="S", starts_at=factories.now(), ends_at=factories.now() + timedelta(days=9)
    )
    form = {
        "code": "t",
        "name": "T",
        "eventType": "check_in",
        "condition": "COUNT",
        "target": "3",
        "window": "SEASON",
    }
    async with signed_in(app, "marketer") as marketer:
        path = f"/console/seasons/{_season_id(season.id)}"
        return await marketer.send(f"{path}/tasks", form | fields, page=path)


async def test_text_that_is_not_a_number_is_refused_beside_its_field(app):
    page = await post_seasonal_task(app, target="ten")

    assert page.status_code == 400
    assert problem_of(page.text, "task", "target") == "must be a whole number"


async def test_a_seasonal_task_counted_over_a_lifetime_is_refused_beside_its_window(app):
    page = await post_seasonal_task(app, window="LIFETIME")

    assert page.status_code == 400
    assert "SEASON, MONTH, WEEK or DAY" in problem_of(page.text, "task", "window")
    assert not await GrowthTask.exists()


async def test_an_admin_finds_a_member_and_adjusts_its_points_with_a_reason(app):
    ada = await factories.member(external_id="crm-ada", display_name="Ada")
    async with signed_in(app, "admin") as admin:
        found = await admin.http.get("/console/members?externalId=crm-ada")
        profile = found.headers["location"]
        adjusted = await admin.send(
            f"{profile}/adjust", {"delta": "25", "reason": "Goodwill", "key": "k1"}, page=profile
        )
        page = await admin.http.get(adjusted.headers["location"])

    assert adjusted.status_code == 303
    assert "Points adjusted." in page.text and "Goodwill" in page.text
    entry = await PointsLedgerEntry.get(member_id=ada.id, reason="Goodwill")
    assert entry.delta == 25


async def test_a_marketer_is_refused_what_the_api_refuses_it(app):
    await factories.member(external_id="crm-ada")
    async with signed_in(app, "marketer") as marketer:
        found = await marketer.http.get("/console/members?externalId=crm-ada")
        profile = found.headers["location"]
        adjusted = await marketer.send(
            f"{profile}/adjust", {"delta": "25", "reason": "Goodwill"}, page=profile
        )
        audit = await marketer.http.get("/console/audit")

    assert adjusted.status_code == 400 and "admin" in adjusted.text
    assert audit.status_code == 403


async def test_the_audit_log_names_who_changed_what(app):
    await factories.ladder()
    async with signed_in(app, "admin") as admin:
        await admin.send(
            "/console/seasons",
            {"code": "spring", "name": "Spring", "startsAt": local(2), "endsAt": local(30)},
            page="/console/seasons",
        )
        page = await admin.http.get("/console/audit")

    assert page.status_code == 200
    assert "dev-admin" in page.text and "season.create" in page.text


def _season_id(pk: int) -> str:
    from app.api.shared.ids import encode_id

    return encode_id("Season", pk)


async def test_a_seasonal_task_is_added_with_a_new_badge_in_one_form(app):
    await factories.ladder()
    season = await Season.create(
        code="s", name="S", starts_at=factories.now(), ends_at=factories.now() + timedelta(days=9)
    )
    async with signed_in(app, "marketer") as marketer:
        path = f"/console/seasons/{_season_id(season.id)}"
        refused = await marketer.send(
            f"{path}/tasks",
            {
                "code": "solo",
                "name": "T",
                "eventType": "check_in",
                "condition": "COUNT",
                "target": "1",
                "window": "SEASON",
                "badge.code": "Bad Code",
                "badge.name": "Hero",
            },
            page=path,
        )
        saved = await marketer.send(
            f"{path}/tasks",
            {
                "code": "solo",
                "name": "T",
                "eventType": "check_in",
                "condition": "COUNT",
                "target": "1",
                "window": "SEASON",
                "badge.code": "hero",
                "badge.name": "Hero",
            },
            page=path,
        )

    assert refused.status_code == 400
    assert "lowercase" in problem_of(refused.text, "task", "badge.code")
    assert saved.status_code == 303
    assert (await GrowthTask.get(code="solo")).reward_badge == "hero"


async def test_malformed_ids_in_the_address_are_refused_not_errors(app):
    await factories.ladder()
    async with signed_in(app, "admin") as admin:
        member = await admin.http.get("/console/members/not-an-id")
        season = await admin.http.get("/console/seasons/not-an-id")
        task = await admin.send(
            "/console/seasons/not-an-id/tasks",
            {
                "code": "solo",
                "name": "Solo",
                "eventType": "check_in",
                "condition": "COUNT",
                "target": "1",
                "window": "SEASON",
            },
            page="/console/seasons",
        )
        adjusted = await admin.send(
            "/console/members/not-an-id/adjust",
            {"delta": "5", "reason": "Why", "key": "k"},
            page="/console/seasons",
        )

    assert member.status_code == 400 and "not a valid Member id" in member.text
    assert season.status_code == 404
    assert task.status_code in (400, 404)
    assert adjusted.status_code in (400, 404)


async def test_a_season_gets_a_benefit_for_some_tiers_and_ends(app, clock):
    await factories.ladder()
    season = await Season.create(
        code="autumn",
        name="Autumn",
        starts_at=factories.now(),
        ends_at=factories.now() + timedelta(days=9),
    )
    benefit = await Benefit.create(
        code="ten-off", name="Ten off", kind=BenefitKind.DISCOUNT, value={"percent": 10}
    )
    async with signed_in(app, "marketer") as marketer:
        path = f"/console/seasons/{_season_id(season.id)}"
        refused = await marketer.send(
            f"{path}/benefits", {"benefitId": encode_id("Benefit", benefit.id)}, page=path
        )
        given = await marketer.send(
            f"{path}/benefits",
            {"benefitId": encode_id("Benefit", benefit.id), "tierCodes": ["gold"]},
            page=path,
        )
        shown = await marketer.http.get(path)
        clock.advance(timedelta(minutes=10))
        ended = await marketer.send(f"{path}/end", {}, page=path)

    assert refused.status_code == 400 and problem_of(refused.text, "benefit", "tierCodes")
    assert given.status_code == 303
    assert "Ten off" in shown.text and "for gold" in shown.text
    assert ended.status_code == 303, re.findall(r'role="alert">([^<]*)', ended.text)
    assert (await Season.get(id=season.id)).ends_at <= factories.now()
