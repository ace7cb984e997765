"""Earning rules on the event path, through the services, on both backends: what a rule
awards, the ledger rows naming it, versions, stacking, budgets and typed attributes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from app import db
from app.models import EarningRuleSpend, EventType, Member, PointsLedgerEntry
from app.services.activity.event_types import set_event_type_attributes
from app.services.points.ledger import balance_mismatches
from app.services.rules.catalogue import (
    RuleDefinition,
    archive_rule,
    create_rule,
    revise_rule,
    rule_views,
)
from app.services.shared.errors import InvalidInput
from gamification.activity.attributes import AttributeSpec, AttributeType
from gamification.rules.engine import Budget, Effect
from gamification.shared.calendar import Window
from tests import factories
from tests.factories import ZONE, event

pytestmark = pytest.mark.usefixtures("orm")

# Saturday 28 November 2026, noon in Shanghai.
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=ZONE)
SHOES = [{"sku": "S-1", "category": "shoes", "price": "80.00", "quantity": 1}]
WEEKEND = {"time": {"field": "dayOfWeek", "op": "in", "value": ["saturday", "sunday"]}}


async def purchase_schema() -> None:
    await set_event_type_attributes(
        code="purchase",
        attributes=[
            AttributeSpec("total", AttributeType.MONEY),
            AttributeSpec("items", AttributeType.LINE_ITEMS),
        ],
        actor=None,  # type: ignore[arg-type]
        now=factories.now(),
    )


async def rule(code: str, effect: Effect, **definition: Any):
    created, _ = await create_rule(
        code=code,
        name=definition.pop("name", code.title()),
        definition=RuleDefinition(
            event_type=definition.pop("event_type", "purchase"), effect=effect, **definition
        ),
        actor=None,
        now=factories.now(),
    )
    return created


async def test_a_weekend_rule_doubles_a_purchase_and_its_ledger_row_names_it(clock):
    # Given a weekend double-points rule
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    await rule("weekend-double", Effect(multiplier=Decimal(2)), condition=WEEKEND)

    # When the member buys for 100 on Saturday, and again on Monday
    saturday = await event(member, "purchase", amount="100")
    clock.set(SATURDAY + timedelta(days=2))
    monday = await event(member, "purchase", amount="100")

    # Then Saturday's purchase earned 100 + 100, Monday's 100, and each says why
    assert saturday.outcome["points"] == 200
    assert saturday.outcome["rules"] == [
        {
            "code": "weekend-double",
            "name": "Weekend-Double",
            "version": 1,
            "points": 100,
            "growth": 0,
        }
    ]
    assert monday.outcome["points"] == 100
    assert monday.outcome["rulesSkipped"][0]["reason"] == "condition_not_met"
    rows = await PointsLedgerEntry.filter(member_id=member.id, rule_id__not_isnull=True)
    assert [(r.delta, r.rule_version, r.reason) for r in rows] == [
        (100, 1, "Rule Weekend-Double (v1)")
    ]
    assert await balance_mismatches() == []


async def test_a_category_bonus_reads_line_items_of_a_typed_event(clock):
    # Given purchases with typed attributes, and 10 points per euro spent on shoes
    clock.set(SATURDAY)
    await purchase_schema()
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    shoes = {
        "lineItems": {
            "of": "items",
            "where": [{"field": "category", "op": "eq", "value": "shoes"}],
            "measure": "any",
        }
    }
    await rule("shoe-bonus", Effect(points=50), condition=shoes)

    # When one purchase holds shoes and another socks
    with_shoes = await event(
        member, "purchase", amount="80", attributes={"total": "80.00", "items": SHOES}
    )
    socks = [{"sku": "K-1", "category": "socks", "price": "5", "quantity": 2}]
    without = await event(
        member, "purchase", amount="10", attributes={"total": "10", "items": socks}
    )

    # Then only the first earned the bonus
    assert with_shoes.outcome["points"] == 80 + 50
    assert without.outcome["points"] == 10


async def test_attributes_that_do_not_fit_the_schema_are_refused_naming_them():
    await purchase_schema()
    member = await factories.member()

    with pytest.raises(InvalidInput) as refused:
        await event(member, "purchase", amount="10", attributes={"total": "ten", "colour": "red"})

    assert {p.field for p in refused.value.problems} == {"attributes.total", "attributes.colour"}
    # An event type without a schema still takes any attributes
    assert (await event(member, "check_in", attributes={"anything": [1, 2]})).outcome["points"] == 5


async def test_editing_a_rule_makes_a_new_version_and_past_awards_keep_theirs(clock):
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    bonus = await rule("bonus", Effect(points=10))
    await event(member, "purchase", amount="1")

    # When the rule is raised to 20 from now, and scheduled to 30 from tomorrow
    await revise_rule(
        rule_id=bonus.id, changes={"effect": Effect(points=20)}, actor=None, now=SATURDAY
    )
    await revise_rule(
        rule_id=bonus.id,
        changes={"effect": Effect(points=30)},
        effective_from=SATURDAY + timedelta(days=1),
        actor=None,
        now=SATURDAY,
    )
    today = await event(member, "purchase", amount="1")
    clock.set(SATURDAY + timedelta(days=1, hours=1))
    tomorrow = await event(member, "purchase", amount="1")

    # Then each award names the version it was made under
    assert [r["version"] for r in today.outcome["rules"] + tomorrow.outcome["rules"]] == [2, 3]
    rows = await PointsLedgerEntry.filter(member_id=member.id, rule_id=bonus.id).order_by("id")
    assert [(r.delta, r.rule_version) for r in rows] == [(10, 1), (20, 2), (30, 3)]
    (view,) = await rule_views(now=SATURDAY)
    assert [v.number for v in view.versions] == [3, 2, 1]
    assert view.in_force is not None and view.in_force.number == 2


async def test_a_version_cannot_take_effect_in_the_past(clock):
    clock.set(SATURDAY)
    bonus = await rule("bonus", Effect(points=10))

    with pytest.raises(InvalidInput) as refused:
        await revise_rule(
            rule_id=bonus.id,
            changes={},
            effective_from=SATURDAY - timedelta(hours=1),
            actor=None,
            now=SATURDAY,
        )
    assert [p.field for p in refused.value.problems] == ["effectiveFrom"]


async def test_a_bad_rule_is_refused_with_precise_problems():
    await purchase_schema()
    with pytest.raises(InvalidInput) as refused:
        await rule(
            "Bad Code",
            Effect(),
            condition={"all": [{"attribute": {"name": "total", "op": "in", "value": "x"}}]},
            budget=Budget(campaign_points=0),
        )
    assert [p.field for p in refused.value.problems] == [
        "code",
        "condition.all[0].attribute.value",
        "effect",
        "budget.campaignPoints",
    ]


async def test_an_archived_rule_stops(clock):
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    bonus = await rule("bonus", Effect(points=10))
    await archive_rule(rule_id=bonus.id, actor=None, now=SATURDAY)

    assert (await event(member, "purchase", amount="1")).outcome["points"] == 1


async def test_stacking_explains_which_rules_applied_and_which_were_skipped(clock):
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    await rule("weekend-double", Effect(multiplier=Decimal(2)), exclusive_group="promo", priority=1)
    await rule("birthday-triple", Effect(multiplier=Decimal(3)), exclusive_group="promo")
    await rule("welcome", Effect(points=5))

    recorded = await event(member, "purchase", amount="10", dry_run=True)

    assert recorded.dry_run
    assert [(r["code"], r["points"]) for r in recorded.outcome["rules"]] == [
        ("birthday-triple", 20),
        ("welcome", 5),
    ]
    assert recorded.outcome["rulesSkipped"] == [
        {
            "code": "weekend-double",
            "name": "Weekend-Double",
            "version": 1,
            "reason": "excluded_by_group",
            "detail": "birthday-triple applied instead (group promo)",
        }
    ]
    assert await PointsLedgerEntry.filter(member_id=member.id).count() == 0


async def test_a_member_cap_per_day_stops_the_rule_for_that_member(clock):
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    await rule(
        "daily-bonus", Effect(points=10), budget=Budget(member_awards=2, member_period=Window.DAY)
    )

    outcomes = [(await event(member, "purchase", amount="1")).outcome for _ in range(3)]
    clock.set(SATURDAY + timedelta(days=1))
    next_day = (await event(member, "purchase", amount="1")).outcome

    assert [o["points"] for o in outcomes] == [11, 11, 1]
    assert outcomes[2]["rulesSkipped"][0]["reason"] == "member_cap_reached"
    assert next_day["points"] == 11


async def test_a_campaign_budget_stops_the_rule_and_says_the_offer_is_exhausted(clock):
    clock.set(SATURDAY)
    members = [await factories.member(joined_at=SATURDAY - timedelta(days=30)) for _ in range(3)]
    promo = await rule("promo", Effect(points=40), budget=Budget(campaign_points=100))

    outcomes = [(await event(m, "purchase", amount="1")).outcome for m in members]

    assert [o["points"] for o in outcomes] == [41, 41, 1]
    assert outcomes[2]["rulesSkipped"][0]["reason"] == "budget_exhausted"
    assert outcomes[2]["rulesSkipped"][0]["detail"] == "the offer's budget is spent"
    (view,) = await rule_views(now=SATURDAY + timedelta(hours=1))
    assert (view.use.points, view.use.awards, view.use.points_left) == (80, 2, 20)
    assert view.use.points_per_day == Decimal("1920.00")  # 80 in the first hour
    assert view.rule.id == promo.id


async def test_200_concurrent_events_never_overshoot_a_campaign_budget(clock):
    # Given a budget of 1,000 points at 30 per award, and 40 members
    clock.set(SATURDAY)
    members = [await factories.member(joined_at=SATURDAY - timedelta(days=30)) for _ in range(40)]
    promo = await rule("promo", Effect(points=30), budget=Budget(campaign_points=1000))
    await _open_connections()

    # When the members make 200 qualifying purchases at once
    results = await asyncio.gather(*(event(m, "purchase", amount="1") for m in members * 5))

    # Then exactly 33 awards were made (990 points), none beyond the cap, and the others
    # were told the offer is exhausted
    awarded = [r for r in results if r.outcome["rules"]]
    assert len(awarded) == 33
    exhausted = [r for r in results if r.outcome["rulesSkipped"]]
    assert {r.outcome["rulesSkipped"][0]["reason"] for r in exhausted} == {"budget_exhausted"}
    assert len(exhausted) == 200 - 33
    spend = await EarningRuleSpend.get(rule_id=promo.id, member_id=0)
    assert (spend.points, spend.awards) == (990, 33)
    assert await PointsLedgerEntry.filter(rule_id=promo.id).count() == 33
    balances = [(await Member.get(id=m.id)).points_balance for m in members]
    assert sum(balances) == 200 + 990
    assert await balance_mismatches() == []


async def test_no_rules_leave_the_outcome_as_it_was(clock):
    clock.set(SATURDAY)
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))

    recorded = await event(member, "purchase", amount="10")

    assert "rules" not in recorded.outcome and "rulesSkipped" not in recorded.outcome


async def test_a_rule_change_moves_the_programme_stamp():
    from app.services.programme.stamp import read_stamp

    async with in_transaction() as conn:
        before = await read_stamp(conn)
    await rule("bonus", Effect(points=10))
    async with in_transaction() as conn:
        assert await read_stamp(conn) != before
    assert await EventType.filter(code="purchase").exists()


async def _open_connections() -> None:
    count = getattr(db.connection(), "pool_maxsize", None)
    if count is None:
        return
    barrier = asyncio.Barrier(count)

    async def hold() -> None:
        async with in_transaction():
            await barrier.wait()

    await asyncio.gather(*(hold() for _ in range(count)))


async def test_rules_without_a_campaign_cap_add_no_statement_and_a_capped_one_adds_one(
    backend, monkeypatch, clock
):
    from tests.api.members.test_query_counts import statements

    # Given a programme already read, with a weekend rule and a capped bonus
    clock.set(SATURDAY)
    await rule("weekend-double", Effect(multiplier=Decimal(2)), condition=WEEKEND)
    warm = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    member = await factories.member(joined_at=SATURDAY - timedelta(days=30))
    await event(warm, "purchase", amount="10")

    # When a purchase earns the uncapped rule, then one earns a capped rule too
    with statements(monkeypatch) as uncapped:
        first = await event(member, "purchase", amount="10")
    await rule("capped", Effect(points=5), budget=Budget(campaign_awards=100))
    await event(warm, "purchase", amount="10")  # reads the new programme
    with statements(monkeypatch) as capped:
        second = await event(member, "purchase", amount="10")

    # Then the uncapped rule costs no statement; the capped one its one upsert
    assert [r["code"] for r in first.outcome["rules"]] == ["weekend-double"]
    assert [r["code"] for r in second.outcome["rules"]] == ["weekend-double", "capped"]
    if backend == "postgres":
        assert len(uncapped) == 3, uncapped
        assert len(capped) == 4, capped
