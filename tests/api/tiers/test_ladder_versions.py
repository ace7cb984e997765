"""Admins publish ladder versions with notice; members are told; the switch is on time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import AuditEntry, LadderVersion, Notification
from app.services.tiers.ladder import tiers_in_force
from tests import factories
from tests.factories import operation

NEW_LADDER = [
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
        "entryThreshold": 800,
        "retentionThreshold": 600,
        "multiplier": "1.20",
        "benefits": ["Free shipping"],
    },
]


async def draft(client, tiers=NEW_LADDER):
    result = await operation(client, "CreateLadderDraft", tiers=tiers, notes="Easier Silver")
    return result["createLadderDraft"]


async def test_a_published_version_tells_every_member_and_applies_at_its_date(client):
    members = [await factories.member() for _ in range(3)]
    created = await draft(client)
    effective = factories.now() + timedelta(days=15)

    published = (
        await operation(
            client,
            "PublishLadderVersion",
            id=created["version"]["id"],
            effectiveAt=effective.isoformat(),
        )
    )["publishLadderVersion"]

    assert created["version"]["status"] == "draft"
    assert published["version"]["status"] == "published"
    assert published["membersTold"] == 3
    for member in members:
        notice = await Notification.get(member_id=member.id, kind="rule_change")
        assert "Silver from 800" in notice.body and "Easier Silver" in notice.body
    # The old ladder is in force until the effective date, the new one from then on.
    before = await tiers_in_force(now=effective - timedelta(seconds=1))
    after = await tiers_in_force(now=effective)
    assert [t.entry_threshold for t in before] == [0, 1000, 5000]
    assert [t.entry_threshold for t in after] == [0, 800]
    actions = await AuditEntry.all().order_by("id").values_list("action", flat=True)
    assert list(actions) == ["ladder.draft", "ladder.publish"]


async def test_publishing_without_enough_notice_is_refused(client):
    await factories.member()
    created = await draft(client)

    result = (
        await operation(
            client,
            "PublishLadderVersion",
            id=created["version"]["id"],
            effectiveAt=(factories.now() + timedelta(days=3)).isoformat(),
        )
    )["publishLadderVersion"]

    assert [p["field"] for p in result["problems"]] == ["effectiveAt"]
    assert (await LadderVersion.get(number=2)).status == "draft"
    assert await Notification.filter(kind="rule_change").count() == 0


async def test_a_version_is_published_once(client):
    await factories.member()
    created = await draft(client)
    at = (factories.now() + timedelta(days=20)).isoformat()
    await operation(client, "PublishLadderVersion", id=created["version"]["id"], effectiveAt=at)

    again = (
        await operation(client, "PublishLadderVersion", id=created["version"]["id"], effectiveAt=at)
    )["publishLadderVersion"]

    assert again["__typename"] == "ValidationFailed"
    assert await Notification.filter(kind="rule_change").count() == 1


@pytest.mark.parametrize(
    ("tiers", "complaint"),
    [
        ([NEW_LADDER[0], dict(NEW_LADDER[1], rank=2)], "without gaps"),
        ([NEW_LADDER[0], dict(NEW_LADDER[1], retentionThreshold=900)], "retention"),
    ],
)
async def test_an_invalid_draft_is_refused(client, tiers, complaint):
    await factories.ladder()
    result = await draft(client, tiers)
    assert result["__typename"] == "ValidationFailed"
    assert complaint in result["problems"][0]["message"]
    assert await LadderVersion.all().count() == 1


async def test_versions_are_listed_newest_first(client):
    await factories.ladder()
    await draft(client)
    listed = (await operation(client, "LadderVersions"))["ladderVersions"]["edges"]
    assert [(e["node"]["number"], e["node"]["status"]) for e in listed] == [
        (2, "draft"),
        (1, "published"),
    ]
