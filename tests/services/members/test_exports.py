"""A member's export: everything Laurel holds about it, as one JSON document."""

from __future__ import annotations

import json

from app.services.members import exports
from app.services.members.exports import member_document
from tests import factories


async def document(member_id: int) -> dict:
    chunks = [chunk async for chunk in member_document(member_id, now=factories.now())]
    return json.loads("".join(chunks))


async def test_the_export_holds_every_category_of_data_about_the_member(orm):
    ada = await factories.member_with_everything()

    exported = await document(ada.id)

    assert exported["format"] == "laurel.member-export/1"
    profile = exported["member"]
    assert (profile["externalId"], profile["displayName"], profile["birthday"]) == (
        "crm-ada-1815",
        "Ada Lovelace",
        "1985-12-10",
    )
    assert (profile["timeZone"], profile["locale"], profile["tier"]) == (
        "Europe/London",
        "en-GB",
        "silver",
    )
    assert exported["leaderboardStanding"]["flagReason"] == "Ada Lovelace shares her account"
    every_section = [s.name for s in exports.SECTIONS] + ["audit"]
    empty = [name for name in every_section if not exported[name]]
    assert empty == [], f"the fixture left these sections empty: {empty}"
    purchase = next(e for e in exported["events"] if e["type"] == "purchase")
    assert purchase["attributes"]["email"] == "ada@example.com"
    assert purchase["amount"] == "1500.00"
    assert {row["reason"] for row in exported["ledger"]} >= {"Goodwill gesture"}
    assert sum(row["delta"] for row in exported["ledger"]) == profile["pointsBalance"]
    assert exported["eventReversals"][0]["reason"] == "Returned one item"
    assert [b["badgeCode"] for b in exported["badges"]] == ["first-task"]
    assert [t["toTierCode"] for t in exported["tierHistory"]] == ["member", "silver"]
    assert [g["benefitCode"] for g in exported["benefitGrants"]] == ["free-shipping"]
    assert [r["rewardCode"] for r in exported["redemptions"]] == ["mug"]
    actions = [entry["action"] for entry in exported["audit"]]
    assert actions == ["member.update", "points.adjust", "member.flag"]
    # Staff's own names are theirs: the audit says which role acted, not who.
    assert "admin@brand.test" not in json.dumps(exported)


async def test_a_section_longer_than_a_page_is_read_page_by_page(orm, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 3)
    member = await factories.member()
    for n in range(8):
        await factories.event(member, "check_in", key=f"day-{n}", attributes={"n": n})

    exported = await document(member.id)

    assert [e["attributes"]["n"] for e in exported["events"]] == list(range(8))
    assert len(exported["activeDays"]) == 1


async def test_a_missing_member_has_no_document(orm):
    from app.services.shared.errors import NotFound

    try:
        await document(424242)
    except NotFound as missing:
        assert missing.kind == "Member"
    else:
        raise AssertionError("expected NotFound")
