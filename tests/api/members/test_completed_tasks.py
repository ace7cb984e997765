"""A finished task stays in view, and a reward's points say why they differ from the task's."""

from __future__ import annotations

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import Member, Tier
from tests import factories
from tests.factories import graphql, operation

TASKS = "{ me { tasks(includeCompleted: true) { code completed remainingCap } } }"


async def test_a_completed_task_is_listed_as_completed_when_asked(client_as):
    # Given a member who completed a once-only task
    member = await factories.member()
    await factories.task(code="profile", cap=1)
    await factories.event(member)
    client = await client_as(Role.MEMBER, member)

    # When they read their tasks, finished ones included, and without them
    every = (await graphql(client, TASKS))["data"]["me"]["tasks"]
    open_ = (await graphql(client, "{ me { tasks { code } } }"))["data"]["me"]["tasks"]

    # Then the finished task is there, marked, with nothing left of its cap
    assert every == [{"code": "profile", "completed": True, "remainingCap": 0}]
    assert open_ == []


async def test_a_multiplied_task_reward_shows_its_base_and_multiplier(client_as):
    # Given a Silver member (x1.10) and a task worth 150 points
    member = await factories.member()
    silver = await Tier.get(code="silver")
    await Member.filter(id=member.id).update(tier_id=silver.id)
    await factories.task(code="welcome", reward_points=150)
    service = await client_as(Role.SERVICE)

    # When the member checks in
    recorded = await operation(
        service,
        "RecordEvent",
        input={
            "memberId": encode_id("Member", member.id),
            "type": "check_in",
            "occurredAt": factories.now().isoformat(),
            "idempotencyKey": "check-in-1",
        },
    )

    # Then the 165 points say they are 150 x 1.1
    (task,) = recorded["recordEvent"]["tasksCompleted"]
    assert (task["points"], task["basePoints"], task["multiplier"]) == (165, 150, "1.1")
    assert recorded["recordEvent"]["multiplier"] == "1.1"
    assert recorded["recordEvent"]["basePoints"] == "5"
