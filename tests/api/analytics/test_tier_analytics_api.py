"""Tier dynamics over HTTP: the console's TierDynamics operation returns the hand-computed
figures of tests/services/analytics/test_tiers.py, and bad spans are refused."""

from __future__ import annotations

import pytest

from tests.factories import graphql, operation
from tests.services.analytics.test_tiers import local, programme


async def test_the_console_reads_rates_times_and_activity(client):
    # Given the fixed programme (its last 30-day window closed in September 2026)
    await programme()

    # When the console asks for July and August, per month
    data = await operation(
        client,
        "TierDynamics",
        granularity="MONTH",
        **{"from": local(2026, 7, 1).isoformat()},
        to=local(2026, 9, 1).isoformat(),
    )

    # Then
    rates = {
        p["period"]: {
            t["code"]: (
                t["membersAtStart"],
                t["promotions"],
                t["demotions"],
                t["promotionRate"],
                t["demotionRate"],
            )
            for t in p["tiers"]
        }
        for p in data["tierRates"]
    }
    assert rates == {
        "2026-07": {
            "member": (3, 2, 0, 2 / 3, 0.0),
            "silver": (0, 0, 0, None, None),
            "gold": (0, 0, 0, None, None),
        },
        "2026-08": {
            "member": (2, 1, 0, 0.5, 0.0),
            "silver": (2, 1, 0, 0.5, 0.0),
            "gold": (0, 0, 0, None, None),
        },
    }
    assert data["timeToPromotion"] == [
        {
            "rank": 1,
            "code": "silver",
            "name": "Silver",
            "promotions": 3,
            "medianDaysFromJoining": 39,
            "p90DaysFromJoining": 60,
            "medianDaysInPreviousTier": 39,
            "p90DaysInPreviousTier": 60,
        },
        {
            "rank": 2,
            "code": "gold",
            "name": "Gold",
            "promotions": 1,
            "medianDaysFromJoining": 80,
            "p90DaysFromJoining": 80,
            "medianDaysInPreviousTier": 41,
            "p90DaysInPreviousTier": 41,
        },
    ]
    assert data["activityAfterPromotion"] == [
        {
            "rank": 1,
            "code": "silver",
            "name": "Silver",
            "promotions": 3,
            "stillInWindow": 0,
            "eventsBefore": 5,
            "eventsAfter": 4,
            "eventsBeforePerMember": 5 / 3,
            "eventsAfterPerMember": 4 / 3,
        },
        {
            "rank": 2,
            "code": "gold",
            "name": "Gold",
            "promotions": 1,
            "stillInWindow": 0,
            "eventsBefore": 2,
            "eventsAfter": 1,
            "eventsBeforePerMember": 2.0,
            "eventsAfterPerMember": 1.0,
        },
    ]


async def test_time_to_promotion_without_a_span_covers_every_promotion(client):
    await programme()
    body = await graphql(client, "{ timeToPromotion { code promotions medianDaysFromJoining } }")
    assert body["data"]["timeToPromotion"] == [
        {"code": "silver", "promotions": 3, "medianDaysFromJoining": 39},
        {"code": "gold", "promotions": 1, "medianDaysFromJoining": 80},
    ]


FIELDS = {
    "tierRates": "tierRates(granularity: DAY, from: $from, to: $to) { period }",
    "timeToPromotion": "timeToPromotion(from: $from, to: $to) { code }",
    "activityAfterPromotion": "activityAfterPromotion(from: $from, to: $to) { code }",
}


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize(
    ("start", "end", "at_fault", "message"),
    [
        ("2026-07-01T00:00:00", "2026-08-01T00:00:00+08:00", "from", "time zone offset"),
        ("2026-07-01T00:00:00+08:00", "2026-08-01T00:00:00", "to", "time zone offset"),
        ("2026-08-01T00:00:00+08:00", "2026-08-01T00:00:00+08:00", "to", "after from"),
        ("2026-08-01T00:00:00+08:00", "2026-07-01T00:00:00+08:00", "to", "after from"),
    ],
)
async def test_bad_spans_are_refused(client, field, start, end, at_fault, message):
    query = f"query Q($from: DateTime!, $to: DateTime!) {{ {FIELDS[field]} }}"
    body = await graphql(client, query, {"from": start, "to": end})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": at_fault}
    assert message in error["message"]
    assert body["data"] is None


async def test_reports_are_bounded(client):
    too_long = await graphql(
        client,
        'query { tierRates(granularity: DAY, from: "2020-01-01T00:00:00+08:00", '
        'to: "2026-01-01T00:00:00+08:00") { period } }',
    )
    assert "at most 400 days" in too_long["errors"][0]["message"]
    for days in (0, 366):
        window = await graphql(
            client,
            'query { activityAfterPromotion(from: "2026-07-01T00:00:00+08:00", '
            f'to: "2026-08-01T00:00:00+08:00", windowDays: {days}) {{ code }} }}',
        )
        assert window["errors"][0]["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "windowDays",
        }
