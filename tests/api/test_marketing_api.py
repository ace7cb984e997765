"""Marketers define seasons, tasks, badges and event types over HTTP; every change is audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import AuditEntry, Badge, EventType, GrowthTask, Season
from app.services.shared.errors import NotFound
from tests import factories
from tests.factories import bearer, operation


@pytest.fixture
async def marketer(app, settings):
    transport = httpx.ASGITransport(app=app)
    headers = bearer(settings, Role.MARKETER)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c


def season_input(**overrides):
    now = factories.now()
    fields = {
        "code": "double-11",
        "name": "Double 11",
        "startsAt": (now + timedelta(days=1)).isoformat(),
        "endsAt": (now + timedelta(days=12)).isoformat(),
        "description": "Singles' Day",
    }
    return fields | overrides


async def test_a_marketer_creates_a_season_and_a_seasonal_task(marketer):
    await factories.ladder()
    created = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]
    season = created["season"]

    task = (
        await operation(
            marketer,
            "CreateGrowthTask",
            input={
                "code": "d11-spend",
                "name": "Spend 1,111 in Double 11",
                "eventType": "purchase",
                "condition": "SUM",
                "target": 1111,
                "window": "SEASON",
                "seasonId": season["id"],
                "rewardPoints": 1111,
            },
        )
    )["createGrowthTask"]

    assert created["__typename"] == "SeasonSaved" and season["code"] == "double-11"
    assert task["__typename"] == "GrowthTaskSaved"
    assert (task["task"]["window"], task["task"]["seasonId"]) == ("SEASON", season["id"])
    assert (task["task"]["status"], task["task"]["perWindowLimit"]) == ("ACTIVE", 1)
    stored = await GrowthTask.get(code="d11-spend")
    assert stored.season_id == (await Season.get(code="double-11")).id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "Bad Code!"}, "code"),
        ({"name": " "}, "name"),
        ({"endsAt": factories.now().isoformat()}, "endsAt"),
    ],
)
async def test_a_bad_season_is_refused_and_nothing_is_written(marketer, overrides, field):
    result = (await operation(marketer, "CreateSeason", input=season_input(**overrides)))[
        "createSeason"
    ]
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await Season.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_a_season_code_is_unique(marketer):
    await operation(marketer, "CreateSeason", input=season_input())
    again = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]
    assert again["__typename"] == "ValidationFailed"
    assert again["problems"][0]["field"] == "code"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target": 0}, "target"),
        ({"eventType": "teleport"}, "eventType"),
        ({"cap": 0}, "cap"),
        ({"perWindowLimit": 0}, "perWindowLimit"),
        ({"window": "SEASON"}, "window"),
        ({"minTierRank": 2, "maxTierRank": 1}, "maxTierRank"),
        ({"minTierRank": 7}, "minTierRank"),
        ({"rewardPoints": -1}, "rewardPoints"),
        ({"rewardBadge": "no-such-badge"}, "rewardBadge"),
        # longer than the columns: looking them up was a 500 (found by test_fuzzing)
        ({"eventType": "x" * 33}, "eventType"),
        ({"rewardBadge": "x" * 65}, "rewardBadge"),
        ({"condition": "STREAK", "window": "DAY", "target": 3}, "target"),
    ],
)
async def test_a_bad_task_is_refused_with_the_field(marketer, overrides, field):
    await factories.ladder()
    fields = {
        "code": "t1",
        "name": "T1",
        "eventType": "check_in",
        "condition": "COUNT",
        "target": 1,
    } | overrides

    result = (await operation(marketer, "CreateGrowthTask", input=fields))["createGrowthTask"]

    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await GrowthTask.all().count() == 0


async def test_a_seasonal_task_must_fit_inside_its_season(marketer):
    await factories.ladder()
    season = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]
    too_late = (factories.now() + timedelta(days=20)).isoformat()

    result = (
        await operation(
            marketer,
            "CreateGrowthTask",
            input={
                "code": "late",
                "name": "Late",
                "eventType": "check_in",
                "condition": "COUNT",
                "target": 1,
                "window": "SEASON",
                "seasonId": season["season"]["id"],
                "endsAt": too_late,
            },
        )
    )["createGrowthTask"]

    assert [p["field"] for p in result["problems"]] == ["endsAt"]


async def test_pausing_a_task_stops_it_counting_and_archiving_is_final(marketer):
    member = await factories.member()
    task = await factories.task(code="daily", reward_points=5)
    task_id = encode_id("GrowthTask", task.id)

    paused = await operation(marketer, "SetGrowthTaskStatus", id=task_id, status="PAUSED")
    recorded = await factories.event(member, "check_in")
    await operation(marketer, "SetGrowthTaskStatus", id=task_id, status="ARCHIVED")
    revived = await operation(marketer, "SetGrowthTaskStatus", id=task_id, status="ACTIVE")

    assert paused["setGrowthTaskStatus"]["task"]["status"] == "PAUSED"
    assert recorded.outcome["tasksCompleted"] == []
    assert revived["setGrowthTaskStatus"]["__typename"] == "ValidationFailed"


async def test_every_change_is_in_the_audit_log_with_before_and_after(marketer, client):
    await factories.ladder()
    created = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]
    season_id = created["season"]["id"]
    await operation(marketer, "UpdateSeason", id=season_id, input={"name": "Double Eleven"})
    await operation(marketer, "ArchiveSeason", id=season_id)

    log = (await operation(client, "AuditLog", filter={"targetType": "Season"}))["auditLog"]

    entries = [e["node"] for e in log["edges"]]
    assert [e["action"] for e in entries] == ["season.archive", "season.update", "season.create"]
    update = entries[1]
    assert (update["before"]["name"], update["after"]["name"]) == ("Double 11", "Double Eleven")
    assert update["actor"] == "test-marketer" and update["actorRole"] == "marketer"
    assert entries[2]["before"] is None


async def test_updating_a_task_changes_only_the_given_fields(marketer):
    await factories.ladder()
    task = await factories.task(code="refer", event_type="referral", target=3, cap=1)

    result = (
        await operation(
            marketer,
            "UpdateGrowthTask",
            id=encode_id("GrowthTask", task.id),
            input={"target": 5, "cap": None},
        )
    )["updateGrowthTask"]

    assert result["task"]["target"] == 5 and result["task"]["cap"] is None
    assert result["task"]["eventType"] == "referral"
    stored = await GrowthTask.get(id=task.id)
    assert (stored.target, stored.cap) == (5, None)


def badge_input(**overrides):
    fields = {
        "code": "sharer",
        "name": "Sharer",
        "description": "Share the app",
        "metric": "EVENTS",
        "subject": "share",
        "thresholds": [1, 10, 50],
    }
    return fields | overrides


async def test_a_marketer_creates_and_updates_a_badge(marketer):
    created = (await operation(marketer, "CreateBadge", input=badge_input()))["createBadge"]
    badge_id = created["badge"]["id"]
    updated = (
        await operation(
            marketer,
            "UpdateBadge",
            id=badge_id,
            input={"metric": "STREAK_DAYS", "subject": None, "thresholds": [3, 7], "hidden": True},
        )
    )["updateBadge"]
    listed = (await operation(marketer, "Badges"))["badges"]

    assert created["__typename"] == "BadgeSaved"
    assert (created["badge"]["metric"], created["badge"]["thresholds"]) == ("EVENTS", [1, 10, 50])
    assert updated["badge"] | {"id": badge_id} == {
        "id": badge_id,
        "code": "sharer",
        "name": "Sharer",
        "description": "Share the app",
        "metric": "STREAK_DAYS",
        "subject": None,
        "thresholds": [3, 7],
        "hidden": True,
    }
    assert [e["node"]["code"] for e in listed["edges"]] == ["sharer"]
    stored = await Badge.get(code="sharer")
    assert (stored.to_rule().key, stored.to_rule().thresholds) == ("streak_days", (3, 7))


async def test_a_task_reward_badge_has_no_thresholds(marketer):
    result = (
        await operation(
            marketer,
            "CreateBadge",
            input=badge_input(metric="TASKS_COMPLETED", subject=None, thresholds=[]),
        )
    )["createBadge"]
    assert result["__typename"] == "BadgeSaved" and result["badge"]["thresholds"] == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "Bad Code!"}, "code"),
        ({"name": " "}, "name"),
        ({"subject": None}, "subject"),
        ({"subject": "teleport"}, "subject"),
        ({"metric": "TASK_COMPLETED", "subject": "no-such-task"}, "subject"),
        ({"metric": "LIFETIME_POINTS", "subject": "share"}, "subject"),
        ({"thresholds": [5, 5]}, "thresholds"),
        ({"thresholds": [10, 5]}, "thresholds"),
        ({"thresholds": [0, 5]}, "thresholds"),
        ({"thresholds": [1, 2, 3, 4, 5, 6]}, "thresholds"),
    ],
)
async def test_a_bad_badge_is_refused_with_the_field(marketer, overrides, field):
    result = (await operation(marketer, "CreateBadge", input=badge_input(**overrides)))[
        "createBadge"
    ]
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await Badge.all().count() == 0
    assert await AuditEntry.all().count() == 0


async def test_a_task_completed_badge_names_an_existing_task(marketer):
    await factories.task(code="daily")
    result = (
        await operation(
            marketer,
            "CreateBadge",
            input=badge_input(metric="TASK_COMPLETED", subject="daily", thresholds=[1]),
        )
    )["createBadge"]
    assert result["__typename"] == "BadgeSaved"


async def test_a_badge_code_is_unique_and_a_bad_update_changes_nothing(marketer):
    first = (await operation(marketer, "CreateBadge", input=badge_input()))["createBadge"]
    again = (await operation(marketer, "CreateBadge", input=badge_input()))["createBadge"]
    bad = (
        await operation(
            marketer, "UpdateBadge", id=first["badge"]["id"], input={"metric": "TIER_REACHED"}
        )
    )["updateBadge"]

    assert [p["field"] for p in again["problems"]] == ["code"]
    assert [p["field"] for p in bad["problems"]] == ["subject"]
    assert (await Badge.get(code="sharer")).metric.value == "events"
    assert await AuditEntry.filter(action="badge.update").count() == 0


async def test_badge_changes_are_audited(marketer, client):
    created = (await operation(marketer, "CreateBadge", input=badge_input()))["createBadge"]
    await operation(marketer, "UpdateBadge", id=created["badge"]["id"], input={"name": "Herald"})

    log = (await operation(client, "AuditLog", filter={"targetType": "Badge"}))["auditLog"]

    entries = [e["node"] for e in log["edges"]]
    assert [e["action"] for e in entries] == ["badge.update", "badge.create"]
    assert (entries[0]["before"]["name"], entries[0]["after"]["name"]) == ("Sharer", "Herald")
    assert entries[1]["before"] is None and entries[1]["after"]["thresholds"] == [1, 10, 50]


def event_type_input(**overrides):
    fields = {"code": "new_type", "name": "New type", "basePoints": 7, "pointsPerUnit": "0.5"}
    return fields | overrides


async def test_a_new_event_type_is_recorded_at_once_and_a_deactivated_one_is_refused(
    marketer,
):
    await factories.ladder()
    member = await factories.member()
    created = (await operation(marketer, "CreateEventType", input=event_type_input()))[
        "createEventType"
    ]
    recorded = await factories.event(member, "new_type", amount="10")
    off = (
        await operation(marketer, "SetEventTypeActive", id=created["eventType"]["id"], active=False)
    )["setEventTypeActive"]
    listed = (await operation(marketer, "EventTypes"))["eventTypes"]
    everything = (await operation(marketer, "EventTypes", includeInactive=True))["eventTypes"]

    assert created["__typename"] == "EventTypeSaved"
    assert Decimal(created["eventType"]["pointsPerUnit"]) == Decimal("0.5")
    assert recorded.outcome["points"] == 12  # 7 base + 0.5 per unit x 10
    assert off["eventType"]["active"] is False
    with pytest.raises(NotFound):
        await factories.event(member, "new_type")
    assert "new_type" not in [e["node"]["code"] for e in listed["edges"]]
    assert "new_type" in [e["node"]["code"] for e in everything["edges"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "Bad Code!"}, "code"),
        ({"code": "x" * 33}, "code"),
        ({"name": " "}, "name"),
        ({"basePoints": -1}, "basePoints"),
        ({"basePoints": 100_001}, "basePoints"),
        ({"pointsPerUnit": "-0.1"}, "pointsPerUnit"),
        ({"pointsPerUnit": "1000.5"}, "pointsPerUnit"),
        ({"pointsPerUnit": "0.00001"}, "pointsPerUnit"),
    ],
)
async def test_a_bad_event_type_is_refused_with_the_field(marketer, overrides, field):
    before = await EventType.all().count()
    result = (await operation(marketer, "CreateEventType", input=event_type_input(**overrides)))[
        "createEventType"
    ]
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == [field]
    assert await EventType.all().count() == before
    assert await AuditEntry.all().count() == 0


async def test_an_event_type_code_is_unique(marketer):
    again = (await operation(marketer, "CreateEventType", input=event_type_input(code="share")))[
        "createEventType"
    ]
    assert [p["field"] for p in again["problems"]] == ["code"]


async def test_updating_an_event_type_by_code_or_id_is_audited(marketer, client):
    share = await EventType.get(code="share")
    by_code = (await operation(marketer, "UpdateEventType", code="share", input={"basePoints": 4}))[
        "updateEventType"
    ]
    by_id = (
        await operation(
            marketer,
            "UpdateEventType",
            id=encode_id("EventType", share.id),
            input={"countsAsReferral": True},
        )
    )["updateEventType"]
    missing = (
        await operation(marketer, "UpdateEventType", code="teleport", input={"basePoints": 4})
    )["updateEventType"]
    bad = (await operation(marketer, "UpdateEventType", code="share", input={"basePoints": -4}))[
        "updateEventType"
    ]
    await operation(marketer, "SetEventTypeActive", id=by_id["eventType"]["id"], active=False)

    log = (await operation(client, "AuditLog", filter={"targetType": "EventType"}))["auditLog"]

    assert by_code["eventType"]["basePoints"] == 4
    assert (by_id["eventType"]["basePoints"], by_id["eventType"]["countsAsReferral"]) == (4, True)
    assert missing["__typename"] == "NotFound"
    assert [p["field"] for p in bad["problems"]] == ["basePoints"]
    entries = [e["node"] for e in log["edges"]]
    assert [e["action"] for e in entries] == ["eventType.update"] * 3
    assert (entries[0]["before"]["active"], entries[0]["after"]["active"]) == (True, False)
    assert (entries[2]["before"]["base_points"], entries[2]["after"]["base_points"]) == (2, 4)


async def test_a_seasonal_task_counts_in_a_window_that_ends(marketer):
    await factories.ladder()
    season = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]
    task = {
        "code": "d11",
        "name": "Check in",
        "eventType": "check_in",
        "condition": "COUNT",
        "target": 1,
        "seasonId": season["season"]["id"],
    }

    lifetime = (await operation(marketer, "CreateGrowthTask", input=task))["createGrowthTask"]
    assert lifetime["__typename"] == "ValidationFailed"  # LIFETIME is the default window
    assert [p["field"] for p in lifetime["problems"]] == ["window"]
    assert await GrowthTask.all().count() == 0

    weekly = (await operation(marketer, "CreateGrowthTask", input={**task, "window": "WEEK"}))[
        "createGrowthTask"
    ]
    assert weekly["__typename"] == "GrowthTaskSaved"
    moved = (
        await operation(
            marketer, "UpdateGrowthTask", id=weekly["task"]["id"], input={"window": "LIFETIME"}
        )
    )["updateGrowthTask"]
    assert [p["field"] for p in moved["problems"]] == ["window"]
