"""suggestThresholds and simulateLadder over HTTP, as the consoles send them."""

from __future__ import annotations

from datetime import timedelta

from app.api.shared.ids import encode_id
from app.models import Member, MemberActiveDay, Tier
from gamification.shared.calendar import local_day
from tests import factories
from tests.factories import graphql, operation

EASIER = [
    {
        "code": "member",
        "name": "Member",
        "rank": 0,
        "entryThreshold": 0,
        "retentionThreshold": 0,
        "multiplier": "1.00",
    },
    {
        "code": "silver",
        "name": "Silver",
        "rank": 1,
        "entryThreshold": 500,
        "retentionThreshold": 400,
        "multiplier": "1.20",
    },
]


async def test_thresholds_for_shares_of_the_active_members(client):
    today = local_day(factories.now(), zone=factories.ZONE)
    for growth in (100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000):
        member = await factories.member()
        await Member.filter(id=member.id).update(growth=growth)
        await MemberActiveDay.create(member_id=member.id, day=today - timedelta(days=3))

    found = (await operation(client, "SuggestThresholds", targetShares=[0.4, 0.1]))[
        "suggestThresholds"
    ]

    assert found["activeMembers"] == 10 and found["activeWithinDays"] == 90
    assert [
        (s["tierCode"], s["threshold"], s["members"], s["friendlyThreshold"], s["friendlyShare"])
        for s in found["suggestions"]
    ] == [("silver", 601, 4, 600, 0.5), ("gold", 901, 1, 900, 0.2)]
    # Nobody was active in the last 2 days.
    recent = await operation(client, "SuggestThresholds", targetShares=[0.4], activeWithinDays=2)
    assert recent["suggestThresholds"]["activeMembers"] == 0
    assert recent["suggestThresholds"]["suggestions"] == []


async def test_bad_shares_are_a_user_input_error(client):
    await factories.member()
    body = await graphql(
        client, "{ suggestThresholds(targetShares: [0.1, 0.4]) { activeMembers } }"
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "targetShares"}
    assert "strictly decreasing" in error["message"]


async def test_an_admin_simulates_a_draft_and_a_published_version_is_refused(client):
    gold = await factories.member()
    await factories.member()
    tiers = {t.code: t for t in await Tier.all()}
    await Member.filter(id=gold.id).update(tier_id=tiers["gold"].id, growth=6_000)
    created = (await operation(client, "CreateLadderDraft", tiers=EASIER))["createLadderDraft"]
    draft_id = created["version"]["id"]

    report = (await operation(client, "SimulateLadder", draftVersionId=draft_id))["simulateLadder"]

    assert report["draftVersionId"] == draft_id and report["members"] == 2
    at_switch = report["atSwitch"]
    assert [(m["code"], m["demoted"], m["unchanged"]) for m in at_switch["movements"]] == [
        ("member", 0, 1),
        ("gold", 1, 0),
    ]
    assert [(d["code"], d["members"]) for d in report["settled"]["distribution"]] == [
        ("member", 1),
        ("silver", 1),
    ]

    await operation(
        client,
        "PublishLadderVersion",
        id=draft_id,
        effectiveAt=(factories.now() + timedelta(days=30)).isoformat(),
    )
    query = "query($id: ID!) { simulateLadder(draftVersionId: $id) { members } }"
    for wrong, message in (
        (draft_id, "only a draft version can be simulated"),
        (encode_id("LadderVersion", 9_999), "no such ladder version"),
        (encode_id("Member", 1), "draftVersionId is not a valid LadderVersion id"),
    ):
        (error,) = (await graphql(client, query, {"id": wrong}))["errors"]
        assert error["message"] == message
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "draftVersionId"}
