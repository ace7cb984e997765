"""Marketers define growth tasks over HTTP; every change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.api.shared.ids import encode_id
from app.models import GrowthTask
from tests import factories
from tests.factories import operation, season_input


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
