"""A growth task and the badge it gives, created in one call: the badge counts the task
and the task gives the badge, so apart they take three steps (task, badge, reward)."""

from __future__ import annotations

from app.models import Badge, GrowthTask, MemberBadge
from tests import factories
from tests.factories import operation, season_input


def task_input(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "code": "spring-visits",
        "name": "Spring visits",
        "eventType": "check_in",
        "condition": "COUNT",
        "target": 1,
        "window": "SEASON",
        "badge": {"code": "spring-hero", "name": "Spring hero"},
    }
    return fields | overrides


async def test_a_seasonal_task_is_created_with_the_badge_it_gives(marketer):
    await factories.ladder()
    season = (await operation(marketer, "CreateSeason", input=season_input()))["createSeason"]

    created = await operation(
        marketer, "CreateGrowthTask", input=task_input(seasonId=season["season"]["id"])
    )

    result = created["createGrowthTask"]
    assert result["__typename"] == "GrowthTaskSaved", result
    assert result["task"]["rewardBadge"] == "spring-hero"
    badge = await Badge.get(code="spring-hero")
    assert (badge.metric.value, badge.subject, badge.thresholds) == (
        "task_completed",
        "spring-visits",
        [1],
    )


async def test_completing_the_task_gives_its_badge(marketer):
    await factories.ladder()
    created = await operation(marketer, "CreateGrowthTask", input=task_input(window="DAY"))
    assert created["createGrowthTask"]["__typename"] == "GrowthTaskSaved"
    member = await factories.member()

    await factories.event(member, "check_in")

    assert await MemberBadge.filter(member_id=member.id, badge__code="spring-hero").exists()


async def test_the_badges_problems_are_named_under_badge_and_nothing_is_written(marketer):
    await factories.ladder()
    await factories.badge(code="taken")

    refused = await operation(
        marketer,
        "CreateGrowthTask",
        input=task_input(
            window="DAY",
            target=0,
            badge={"code": "Bad Code", "name": "", "thresholds": [3, 2]},
        ),
    )

    result = refused["createGrowthTask"]
    assert result["__typename"] == "ValidationFailed"
    fields = {p["field"] for p in result["problems"]}
    assert {"target", "badge.code", "badge.name", "badge.thresholds"} <= fields
    assert not await GrowthTask.exists()


async def test_a_badge_code_already_used_refuses_the_task_too(marketer):
    await factories.ladder()
    await factories.badge(code="spring-hero")

    refused = await operation(marketer, "CreateGrowthTask", input=task_input(window="DAY"))

    result = refused["createGrowthTask"]
    assert result["__typename"] == "ValidationFailed"
    assert [p["field"] for p in result["problems"]] == ["badge.code"]
    assert not await GrowthTask.exists()


async def test_a_new_badge_and_a_reward_badge_are_one_too_many(marketer):
    await factories.ladder()
    await factories.badge(code="other")

    refused = await operation(
        marketer, "CreateGrowthTask", input=task_input(window="DAY", rewardBadge="other")
    )

    assert [p["field"] for p in refused["createGrowthTask"]["problems"]] == ["rewardBadge"]
