"""Marketers define badges over HTTP; every change is audited."""

from __future__ import annotations

import pytest

from app.models import AuditEntry, Badge
from tests import factories
from tests.factories import operation


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
