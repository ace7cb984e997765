"""Marketers define seasons over HTTP; every change is audited."""

from __future__ import annotations

import pytest

from app.models import AuditEntry, GrowthTask, Season
from tests import factories
from tests.factories import operation, season_input


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
