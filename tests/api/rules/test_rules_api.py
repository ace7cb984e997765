"""Earning rules over HTTP: a marketer writes one, a back end's event earns it and is told
why, the console reads the budget's burn."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.api.shared.ids import encode_id
from app.auth import Role
from tests import factories
from tests.factories import ZONE, operation

SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=ZONE)
SHOE_OVER_50 = {
    "lineItems": {
        "of": "items",
        "where": [
            {"field": "category", "op": "eq", "value": "shoes"},
            {"field": "price", "op": "gt", "value": 50},
        ],
        "measure": "any",
    }
}


async def test_a_marketer_writes_a_rule_and_a_purchase_earns_it_with_an_explanation(
    client_as, clock
):
    # Given a marketer who types the purchase's attributes and writes a shoe bonus
    clock.set(SATURDAY)
    marketer = await client_as(Role.MARKETER)
    service = await client_as(Role.SERVICE)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    typed = await operation(
        marketer,
        "SetEventTypeAttributes",
        code="purchase",
        attributes=[
            {"name": "total", "type": "MONEY", "required": True},
            {"name": "items", "type": "LINE_ITEMS"},
        ],
    )
    assert typed["setEventTypeAttributes"]["eventType"]["attributes"][0] == {
        "name": "total",
        "type": "MONEY",
        "required": True,
    }
    created = await operation(
        marketer,
        "CreateEarningRule",
        input={
            "code": "shoe-bonus",
            "name": "Shoe bonus",
            "eventType": "purchase",
            "condition": SHOE_OVER_50,
            "effect": {"multiplier": "2"},
            "budget": {"campaignPoints": 10000},
        },
    )
    rule = created["createEarningRule"]["rule"]
    assert rule["inForce"]["number"] == 1
    assert rule["budgetUse"]["pointsLeft"] == 10000

    # When the shop reports a purchase with a shoe over 50
    recorded = await operation(
        service,
        "RecordEvent",
        input={
            "memberId": encode_id("Member", member.id),
            "type": "purchase",
            "occurredAt": SATURDAY.isoformat(),
            "amount": "80",
            "attributes": {
                "total": "80.00",
                "items": [{"sku": "S1", "category": "shoes", "price": "80", "quantity": 1}],
            },
            "idempotencyKey": "order-1",
        },
    )

    # Then it earned 80 + 80 and says which rule gave what
    outcome = recorded["recordEvent"]
    assert outcome["pointsAwarded"] == 160
    assert outcome["rulesApplied"] == [
        {"code": "shoe-bonus", "name": "Shoe bonus", "version": 1, "points": 80, "growth": 0}
    ]
    assert outcome["rulesSkipped"] == []
    # And the console sees the budget's burn
    rules = (await operation(marketer, "EarningRules"))["earningRules"]
    assert rules[0]["budgetUse"]["pointsGiven"] == 80
    assert rules[0]["budgetUse"]["pointsLeft"] == 10000 - 80


async def test_bad_attributes_and_bad_rules_are_refused_naming_the_field(client_as, clock):
    clock.set(SATURDAY)
    marketer = await client_as(Role.MARKETER)
    service = await client_as(Role.SERVICE)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    await operation(
        marketer,
        "SetEventTypeAttributes",
        code="purchase",
        attributes=[{"name": "total", "type": "MONEY", "required": True}],
    )

    refused = await operation(
        service,
        "RecordEvent",
        input={
            "memberId": encode_id("Member", member.id),
            "type": "purchase",
            "occurredAt": SATURDAY.isoformat(),
            "attributes": {"total": "lots"},
            "idempotencyKey": "order-2",
        },
    )
    bad_rule = await operation(
        marketer,
        "CreateEarningRule",
        input={
            "code": "bad",
            "name": "Bad",
            "eventType": "purchase",
            "condition": {"any": [{"attribute": {"name": "colour", "op": "eq", "value": "red"}}]},
            "effect": {"points": 5},
        },
    )

    assert [p["field"] for p in refused["recordEvent"]["problems"]] == ["attributes.total"]
    assert [p["field"] for p in bad_rule["createEarningRule"]["problems"]] == [
        "condition.any[0].attribute.name"
    ]


async def test_a_revision_is_a_new_version_and_archiving_stops_the_rule(client_as, clock):
    clock.set(SATURDAY)
    marketer = await client_as(Role.MARKETER)
    created = await operation(
        marketer,
        "CreateEarningRule",
        input={"code": "bonus", "name": "Bonus", "eventType": "check_in", "effect": {"points": 5}},
    )
    rule_id = created["createEarningRule"]["rule"]["id"]

    revised = await operation(
        marketer,
        "ReviseEarningRule",
        id=rule_id,
        input={
            "effect": {"points": 8},
            "effectiveFrom": (SATURDAY + timedelta(days=7)).isoformat(),
        },
    )
    archived = await operation(marketer, "ArchiveEarningRule", id=rule_id)

    rule = revised["reviseEarningRule"]["rule"]
    assert [v["number"] for v in rule["versions"]] == [2, 1]
    assert rule["inForce"]["effect"]["points"] == 5  # version 2 is scheduled
    assert archived["archiveEarningRule"]["rule"]["archivedAt"] is not None
    assert (await operation(marketer, "EarningRules"))["earningRules"] == []


async def test_a_member_may_not_write_rules(client_as):
    member = await factories.member()
    c = await client_as(Role.MEMBER, member)

    body = await operation(
        c,
        "CreateEarningRule",
        input={"code": "mine", "name": "Mine", "eventType": "check_in", "effect": {"points": 5}},
    )

    assert body["createEarningRule"]["__typename"] == "Forbidden"
