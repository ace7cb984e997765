"""Every problem the marketing and leaderboard mutations report names a field of the
schema (``startsAt``, never ``starts_at``): a field of the mutation's input, or one of its
arguments. Each update input is sent with each of its fields set to null, and each create
input with values that break its rules.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from graphql import GraphQLInputObjectType, GraphQLSchema, build_schema, get_named_type

from app.api.shared.ids import encode_id
from app.models import Badge, EventType, Leaderboard, Season
from tests import factories
from tests.factories import graphql

ROOT = Path(__file__).resolve().parents[3]
# mutation -> the argument holding its input (the others are given as they are)
MUTATIONS = {
    "createSeason": "input",
    "updateSeason": "input",
    "createGrowthTask": "input",
    "updateGrowthTask": "input",
    "createBadge": "input",
    "updateBadge": "input",
    "createEventType": "input",
    "updateEventType": "input",
    "createLeaderboard": "input",
    "updateLeaderboard": "input",
}


def schema() -> GraphQLSchema:
    return build_schema((ROOT / "graphql" / "schema.graphql").read_text())


def document(s: GraphQLSchema, mutation: str) -> str:
    field = s.mutation_type.fields[mutation]  # type: ignore[union-attr]
    params = ", ".join(f"${name}: {arg.type}" for name, arg in field.args.items())
    args = ", ".join(f"{name}: ${name}" for name in field.args)
    return (
        f"mutation M({params}) {{ {mutation}({args}) {{ __typename "
        "... on ValidationFailed { problems { field message } } } }"
    )


async def problems(client, s, mutation: str, variables: dict) -> list[str]:
    body = await graphql(client, document(s, mutation), variables)
    assert "errors" not in body, body
    result = body["data"][mutation]
    return [p["field"] for p in result.get("problems", [])]


def schema_names(s: GraphQLSchema, mutation: str) -> set[str]:
    field = s.mutation_type.fields[mutation]  # type: ignore[union-attr]
    input_type = get_named_type(field.args[MUTATIONS[mutation]].type)
    assert isinstance(input_type, GraphQLInputObjectType)
    return set(input_type.fields) | set(field.args)


@pytest.fixture
async def targets():
    """One of each thing the update mutations change, and the other arguments they take."""
    await factories.ladder()
    now = factories.now()
    season = await Season.create(
        code="autumn",
        name="Autumn",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    task = await factories.task(window="season", season=season)
    badge = await Badge.create(
        code="loyal", name="Loyal", metric="tasks_completed", thresholds=[1], created_at=now
    )
    event_type = await EventType.get(code="check_in")
    board = await Leaderboard.create(
        code="points",
        name="Points",
        metric="points_earned",
        period="all_time",
        created_at=now,
        updated_at=now,
    )
    return {
        "updateSeason": {"id": encode_id("Season", season.id)},
        "updateGrowthTask": {"id": encode_id("GrowthTask", task.id)},
        "updateBadge": {"id": encode_id("Badge", badge.id)},
        "updateEventType": {"id": encode_id("EventType", event_type.id)},
        "updateLeaderboard": {"id": encode_id("Leaderboard", board.id)},
        "season_id": encode_id("Season", season.id),
    }


# Stands for the id of the season the fixture made.
SEASON = object()
BAD_CREATES = {
    "createSeason": [
        {
            "code": "Bad Code",
            "name": " ",
            "startsAt": "2026-12-02T00:00:00",
            "endsAt": "2026-12-01T00:00:00",
            "description": "x" * 5000,
        },
        {
            "code": "ok-code",
            "name": "Ok",
            "startsAt": "2026-12-02T00:00:00+08:00",
            "endsAt": "2026-12-01T00:00:00+08:00",
        },
    ],
    "createGrowthTask": [
        {
            "code": "x",
            "name": "",
            "eventType": "nope",
            "condition": "STREAK",
            "target": 0,
            "window": "SEASON",
            "perWindowLimit": 0,
            "cap": 0,
            "minTierRank": 9,
            "maxTierRank": -1,
            "startsAt": "2026-12-02T00:00:00",
            "rewardPoints": -1,
            "rewardGrowth": -1,
            "rewardBadge": "nope",
        },
        {
            "code": "lifetime-in-season",
            "name": "In season",
            "eventType": "check_in",
            "condition": "COUNT",
            "target": 1,
            "window": "LIFETIME",
            "seasonId": SEASON,
        },
        {
            "code": "bad-season",
            "name": "Bad",
            "eventType": "check_in",
            "condition": "COUNT",
            "target": 1,
            "seasonId": "not-an-id",
        },
    ],
    "createBadge": [
        {
            "code": "Bad Code",
            "name": " ",
            "metric": "TASK_COMPLETED",
            "thresholds": [3, 2, 0],
            "subject": "nope",
        },
        {"code": "loyal", "name": "Again", "metric": "TASKS_COMPLETED", "thresholds": [1]},
    ],
    "createEventType": [
        {"code": "Bad Code", "name": " ", "basePoints": -1, "pointsPerUnit": "0.123456789"},
        {"code": "check_in", "name": "Again"},
    ],
    "createLeaderboard": [
        {
            "code": "Bad Code",
            "name": " ",
            "metric": "GROWTH",
            "period": "SEASON",
            "tierCode": "diamond",
            "visibleFrom": "2026-12-02T00:00:00+08:00",
            "visibleTo": "2026-12-01T00:00:00+08:00",
        },
        {
            "code": "weekly",
            "name": "Weekly",
            "metric": "GROWTH",
            "period": "WEEK",
            "seasonId": SEASON,
        },
        {"code": "points", "name": "Again", "metric": "GROWTH", "period": "ALL_TIME"},
    ],
}


async def test_every_problem_names_a_field_of_the_schema(client, targets):
    s = schema()
    reported: dict[str, set[str]] = {}
    for mutation in MUTATIONS:
        names = schema_names(s, mutation)
        field = s.mutation_type.fields[mutation]  # type: ignore[union-attr]
        cases = []
        if mutation.startswith("update"):
            input_type = get_named_type(field.args["input"].type)
            assert isinstance(input_type, GraphQLInputObjectType)
            cases = [{name: None} for name in input_type.fields]
        for bad in BAD_CREATES.get(mutation, []):
            cases.append({k: targets["season_id"] if v is SEASON else v for k, v in bad.items()})
        for case in cases:
            variables = {**targets.get(mutation, {}), "input": case}
            for problem in await problems(client, s, mutation, variables):
                reported.setdefault(mutation, set()).add(problem)
                assert problem.split(".")[0] in names, f"{mutation} reports {problem!r}"
    # The cases do reach the checks: nulls of required fields, and each create's rules.
    assert {"startsAt", "endsAt", "code", "name"} <= reported["updateSeason"]
    assert {"eventType", "rewardPoints", "perWindowLimit"} - reported["updateGrowthTask"] == {
        "perWindowLimit"  # nullable: clearing it means no limit
    }
    assert {"basePoints", "pointsPerUnit", "countsAsSpend"} <= reported["updateEventType"]
    assert {"excludeFlagged", "name"} <= reported["updateLeaderboard"]
    assert {"window", "seasonId", "rewardBadge", "maxTierRank"} <= reported["createGrowthTask"]
    assert {"visibleTo", "tierCode", "seasonId"} <= reported["createLeaderboard"]
