"""The earning rules engine: 50 active rules evaluated for one event, in microseconds.

No database: the rules are compiled as the programme snapshot compiles them
(``compile_rule``, once per programme version), then one purchase with line items is
evaluated against all 50 (``evaluate_rules``, what the event path runs per event) and the
snapshot's per-event lookup of the rules in force (``Programme.rules_for``) is timed on its
own. The 50 rules mix every condition kind (attributes, line items, member, time, and/or/
not), every effect, exclusive groups and member caps; about half match the event.
Target (issue 17): under 100 µs per event for the engine.

    .venv/bin/python bench/rules.py [--rules 50] [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from _databases import figures_line, medians

from app.services.programme.snapshot import Programme, ProgrammeRule
from gamification.rules.conditions import Subject
from gamification.rules.engine import (
    Budget,
    EarningRule,
    Effect,
    GroupPick,
    compile_rule,
    evaluate_rules,
    stacking_order,
)
from gamification.shared.calendar import Window

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday
SHOES = [{"field": "category", "op": "eq", "value": "shoes"}]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    {"time": {"field": "dayOfWeek", "op": "in", "value": ["saturday", "sunday"]}},
    {"attribute": {"name": "total", "op": "gte", "value": 50}},
    {"lineItems": {"of": "items", "where": SHOES, "measure": "any"}},
    {"lineItems": {"of": "items", "measure": "sum", "op": "gte", "value": 100}},
    {"member": {"field": "tier", "op": "in", "value": ["gold", "platinum"]}},
    {"member": {"field": "inBirthdayMonth", "op": "eq", "value": True}},
    {
        "all": [
            {"time": {"field": "hour", "op": "gte", "value": 18}},
            {"not": {"attribute": {"name": "channel", "op": "eq", "value": "store"}}},
        ]
    },
    {
        "any": [
            {"member": {"field": "daysSinceSignup", "op": "lt", "value": 30}},
            {
                "lineItems": {
                    "of": "items",
                    "where": SHOES,
                    "measure": "count",
                    "op": "gte",
                    "value": 2,
                }
            },
        ]
    },
    {"attribute": {"name": "channel", "op": "in", "value": ["web", "app"]}},
]
EFFECTS = [
    Effect(points=50),
    Effect(multiplier=Decimal(2)),
    Effect(per_unit_of="total", per_unit_rate=Decimal("0.5")),
    Effect(per_unit_of="items", per_unit_rate=Decimal(1), growth=5),
    Effect(growth=10),
]


def rules(count: int) -> list[EarningRule]:
    made = []
    for n in range(count):
        made.append(
            compile_rule(
                id=n + 1,
                code=f"rule-{n}",
                name=f"Rule {n}",
                version=1,
                event_type="purchase",
                condition=CONDITIONS[n % len(CONDITIONS)],
                effect=EFFECTS[n % len(EFFECTS)],
                priority=n % 7,
                group=f"group-{n % 5}" if n % 3 == 0 else None,
                pick=GroupPick.FIRST if n % 2 else GroupPick.BEST,
                budget=Budget(member_points=5_000, member_period=Window.MONTH)
                if n % 4 == 0
                else Budget(),
            )
        )
    return made


def subject() -> Subject:
    return Subject(
        amount=Decimal("180.00"),
        attributes={
            "total": "180.00",
            "channel": "web",
            "items": [
                {"sku": "S-1", "category": "shoes", "price": "120.00", "quantity": 1},
                {"sku": "K-1", "category": "socks", "price": "10.00", "quantity": 2},
                {"sku": "B-1", "category": "bags", "price": "40.00", "quantity": 1},
            ],
        },
        local_time=NOW,
        tier="gold",
        birthday=date(1990, 11, 3),
        joined_at=NOW - timedelta(days=400),
        points_balance=2_000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    compiled = stacking_order(rules(args.rules))
    compile_us = (time.perf_counter() - started) * 1e6
    programme = Programme(
        stamp=1,
        event_types={},
        tasks={},
        badges=(),
        ladders=(),
        tiers={},
        seasons=(),
        rules=tuple(ProgrammeRule(r.id, ((NOW - timedelta(days=1), r),)) for r in compiled),
    )
    event = subject()  # the sample's; each timed evaluation gets a fresh one, as events do
    spent = {r.id: (100, 1) for r in compiled if r.budget.member_capped}
    sample = evaluate_rules(compiled, subject=event, at=NOW, event_points=180, member_spent=spent)

    rounds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for _ in range(args.events):
            evaluate_rules(
                compiled, subject=subject(), at=NOW, event_points=180, member_spent=spent
            )
        engine = (time.perf_counter() - started) / args.events * 1e6
        started = time.perf_counter()
        for _ in range(args.events):
            programme.rules_for("purchase", NOW)
        lookup = (time.perf_counter() - started) / args.events * 1e6
        rounds.append({"engine_us": engine, "rules_for_us": lookup})
    figures = medians(rounds)

    print(f"{args.rules} rules: {len(sample.awards)} applied, {len(sample.skipped)} skipped")
    print(f"compile all rules once: {compile_us:,.0f} µs")
    print("| measure | µs per event (median of rounds) |")
    print("|---|---|")
    print(
        f"| evaluate_rules, {args.rules} rules (a fresh event each) | {figures['engine_us']:.1f} |"
    )
    print(f"| Programme.rules_for (cached) | {figures['rules_for_us']:.2f} |")
    print(f"target: engine < 100 µs per event: {'met' if figures['engine_us'] < 100 else 'MISSED'}")
    print(figures_line(figures))


if __name__ == "__main__":
    main()
