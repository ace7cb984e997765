"""Every mutation that can answer ValidationFailed names its problems as the schema names its
fields (``startsAt``, never ``starts_at``): an argument, or a field of an input argument
(``value.percent`` names a key inside the JSON ``value``). Each is sent input that breaks
its rules, as the caller it serves; the table must hold every such mutation of the schema.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    get_named_type,
)

from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import (
    Benefit,
    BenefitGrant,
    LadderVersion,
    LadderVersionStatus,
    Leaderboard,
    Reward,
    Season,
)
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from gamification.leaderboards import Metric, Period
from tests import factories
from tests.factories import bearer, graphql

ROOT = Path(__file__).resolve().parents[3]
MEMBER_TOKEN = {"markNotificationsRead", "redeemPoints", "useBenefit"}


def schema() -> GraphQLSchema:
    return build_schema((ROOT / "graphql" / "schema.graphql").read_text())


def result_types(s: GraphQLSchema, mutation: str) -> list[GraphQLObjectType]:
    named = get_named_type(s.mutation_type.fields[mutation].type)  # type: ignore[union-attr]
    return list(named.types) if isinstance(named, GraphQLUnionType) else [named]  # type: ignore[list-item]


def can_fail_validation(s: GraphQLSchema, mutation: str) -> bool:
    """The mutation's result, or an item of it (recordEvents), can be ValidationFailed."""
    for t in result_types(s, mutation):
        if t.name == "ValidationFailed":
            return True
        for field in t.fields.values():
            inner = get_named_type(field.type)
            if isinstance(inner, GraphQLUnionType) and any(
                x.name == "ValidationFailed" for x in inner.types
            ):
                return True
    return False


def field_names(s: GraphQLSchema, mutation: str) -> set[str]:
    """The arguments of a mutation and the fields of its input arguments."""
    args = s.mutation_type.fields[mutation].args  # type: ignore[union-attr]
    names = set(args)
    for arg in args.values():
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLInputObjectType):
            names |= set(named.fields)
    return names


def document(s: GraphQLSchema, mutation: str) -> str:
    args = s.mutation_type.fields[mutation].args  # type: ignore[union-attr]
    params = ", ".join(f"${name}: {arg.type}" for name, arg in args.items())
    call = ", ".join(f"{name}: ${name}" for name in args)
    problems = "... on ValidationFailed { problems { field message } }"
    items = ""
    if mutation == "recordEvents":
        items = f"... on EventsRecorded {{ results {{ {problems} }} }}"
    return f"mutation M({params}) {{ {mutation}({call}) {{ __typename {problems} {items} }} }}"


def reported(result: dict[str, Any]) -> list[str]:
    found = [p["field"] for p in result.get("problems", [])]
    for item in result.get("results", []):
        found += [p["field"] for p in item.get("problems", [])]
    return found


@pytest.fixture
async def things():
    """One of each thing the mutations name, in the states that break their rules."""
    now = factories.now()
    member = await factories.member()
    season = await Season.create(
        code="autumn", name="Autumn", starts_at=now, ends_at=now + timedelta(days=30)
    )
    task = await factories.task()
    badge = await factories.badge()
    paused = await Reward.create(code="mug", name="Mug", points_cost=1, stock=5, active=False)
    benefit = await Benefit.create(
        code="ten-off", name="10% off", kind=BenefitKind.DISCOUNT, value={"percent": 10}
    )
    used = await BenefitGrant.create(
        member=member,
        benefit=benefit,
        source=GrantSource.MANUAL,
        source_ref="test",
        valid_from=now - timedelta(days=1),
        status=GrantStatus.USED,
    )
    board = await Leaderboard.create(
        code="points",
        name="Points",
        metric=Metric.POINTS_EARNED,
        period=Period.ALL_TIME,
        created_at=now,
        updated_at=now,
    )
    draft = await LadderVersion.create(number=99, status=LadderVersionStatus.DRAFT)
    return {
        "member": member,
        "Member": encode_id("Member", member.id),
        "Season": encode_id("Season", season.id),
        "GrowthTask": encode_id("GrowthTask", task.id),
        "Badge": encode_id("Badge", badge.id),
        "Reward": encode_id("Reward", paused.id),
        "Benefit": encode_id("Benefit", benefit.id),
        "BenefitGrant": encode_id("BenefitGrant", used.id),
        "Leaderboard": encode_id("Leaderboard", board.id),
        "LadderVersion": encode_id("LadderVersion", draft.id),
        "now": now,
    }


def cases(t: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per mutation, variables that each break one or more of its rules."""
    naive = t["now"].replace(tzinfo=None).isoformat()
    event = {"memberId": t["Member"], "type": "check_in", "occurredAt": naive, "idempotencyKey": ""}
    return {
        "enrollMember": [
            {"externalId": " x", "displayName": "", "birthday": "2999-01-01"},
            {"externalId": "x", "displayName": "X", "joinedAt": naive},
        ],
        "updateMember": [
            {
                "id": t["Member"],
                "input": {
                    "displayName": "",
                    "birthday": "2999-01-01",
                    "timeZone": "Mars/Olympus",
                    "locale": "not a tag!",
                },
            },
            {"id": "nope", "input": {"displayName": "X"}},
        ],
        "deactivateMember": [
            {"id": t["Member"], "reason": ""},
            {"id": "nope", "reason": "closed"},
        ],
        "reactivateMember": [{"id": "nope"}],
        "mergeMembers": [
            {"survivorId": t["Member"], "duplicateId": t["Member"]},
            {"survivorId": "nope", "duplicateId": t["Member"]},
            {"survivorId": t["Member"], "duplicateId": "nope"},
        ],
        "exportMember": [{"id": "nope"}],
        "eraseMember": [
            {"id": t["Member"], "confirm": "not the external id"},
            {"id": "nope", "confirm": "x"},
        ],
        "awardPoints": [
            {"memberId": t["Member"], "amount": 0, "reason": "", "idempotencyKey": ""},
            {"memberId": "nope", "amount": 1, "reason": "Why", "idempotencyKey": "k"},
        ],
        "adjustPoints": [
            {"memberId": t["Member"], "delta": 0, "reason": "x", "idempotencyKey": ""}
        ],
        "markNotificationsRead": [{"all": False}, {"ids": ["nope"], "all": False}],
        "recordEvent": [{"input": {**event, "amount": "-1"}, "dryRun": False}],
        "recordEvents": [{"inputs": [], "dryRun": False}, {"inputs": [event], "dryRun": False}],
        "reverseEvent": [{"idempotencyKey": "k", "reason": "", "reversalKey": ""}],
        "createSeason": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": " ",
                    "startsAt": naive,
                    "endsAt": naive,
                    "description": "x" * 5000,
                }
            }
        ],
        "updateSeason": [
            {"id": t["Season"], "input": {"startsAt": None, "endsAt": None}},
            {"id": t["Season"], "input": {"endsAt": t["now"].isoformat()}},
        ],
        "archiveSeason": [{"id": "nope"}],
        "createGrowthTask": [
            {
                "input": {
                    "code": "x",
                    "name": "",
                    "eventType": "nope",
                    "condition": "COUNT",
                    "target": 0,
                    "startsAt": naive,
                    "rewardPoints": -1,
                }
            },
            {
                "input": {
                    "code": "with-badge",
                    "name": "With a badge",
                    "eventType": "check_in",
                    "condition": "COUNT",
                    "target": 1,
                    "badge": {"code": "Bad Code", "name": "", "thresholds": [3, 2]},
                }
            },
        ],
        "updateGrowthTask": [{"id": t["GrowthTask"], "input": {"eventType": None, "target": 0}}],
        "setGrowthTaskStatus": [{"id": "nope", "status": "PAUSED"}],
        "createBadge": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": " ",
                    "metric": "TASKS_COMPLETED",
                    "thresholds": [3, 2],
                    "subject": "nope",
                }
            }
        ],
        "updateBadge": [{"id": t["Badge"], "input": {"thresholds": None, "name": None}}],
        "createEventType": [{"input": {"code": "Bad Code", "name": " ", "basePoints": -1}}],
        "updateEventType": [
            {"code": "check_in", "input": {"basePoints": None, "pointsPerUnit": "-1"}},
            {"input": {"name": "Neither id nor code"}},
        ],
        "setEventTypeActive": [{"id": "nope", "active": False}],
        "createLadderDraft": [{"tiers": [], "notes": "x" * 600}],
        "publishLadderVersion": [{"id": t["LadderVersion"], "effectiveAt": naive}],
        "createReward": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": "",
                    "pointsCost": 0,
                    "startsAt": naive,
                    "minTierRank": 9,
                }
            }
        ],
        "updateReward": [{"id": t["Reward"], "input": {"pointsCost": None, "stock": -1}}],
        "archiveReward": [{"id": "nope"}],
        "redeemPoints": [
            {"rewardId": t["Reward"]},
            {"rewardId": t["Reward"], "idempotencyKey": ""},
        ],
        "cancelRedemption": [{"id": "nope", "reason": "changed my mind"}],
        "generateCoupons": [{"rewardId": t["Reward"], "pattern": "SHOE-#?", "count": 0}],
        "importCoupons": [
            {"rewardId": t["Reward"], "csv": "code\nGOOD-1\nnot a code!\n"},
            {"rewardId": "nope", "csv": "GOOD-1"},
        ],
        "createBenefit": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": "",
                    "kind": "DISCOUNT",
                    "value": {"percent": 500},
                }
            }
        ],
        "updateBenefit": [{"id": t["Benefit"], "input": {"kind": None, "value": {"percent": 0}}}],
        "archiveBenefit": [{"id": "nope"}],
        "setTierBenefits": [
            {"tierCode": "nope", "benefitCodes": []},
            {"tierCode": "gold", "benefitCodes": ["nope"]},
        ],
        "attachSeasonalBenefit": [
            {"seasonId": t["Season"], "benefitId": t["Benefit"], "tierCodes": []},
            {"seasonId": "nope", "benefitId": t["Benefit"], "tierCodes": ["gold"]},
        ],
        "detachSeasonalBenefit": [{"seasonId": "nope", "benefitId": t["Benefit"]}],
        "useBenefit": [{"grantId": "nope"}, {"grantId": t["BenefitGrant"]}],
        "createLeaderboard": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": " ",
                    "metric": "GROWTH",
                    "period": "SEASON",
                    "tierCode": "nope",
                    "visibleFrom": naive,
                }
            }
        ],
        "updateLeaderboard": [
            {"id": t["Leaderboard"], "input": {"excludeFlagged": None, "visibleFrom": naive}}
        ],
        "archiveLeaderboard": [{"id": "nope"}],
        "flagMember": [{"memberId": t["Member"], "flagged": True, "reason": ""}],
        "registerTrustedDocuments": [{"client": "", "version": " ", "manifest": {}}],
        "createWebhookEndpoint": [
            {"url": "ftp://127.0.0.1/hook", "eventTypes": ["no.such.event"]},
            {"url": "https://example.test/hook", "eventTypes": []},
        ],
        "updateWebhookEndpoint": [{"id": "nope", "url": "not a url"}],
        "rotateWebhookSecret": [{"id": "nope"}],
        "replayWebhookDelivery": [{"id": "nope"}],
        "setEventTypeAttributes": [
            {"code": "purchase", "attributes": [{"name": "amount", "type": "MONEY"}]},
            {"attributes": None},
        ],
        "createEarningRule": [
            {
                "input": {
                    "code": "Bad Code",
                    "name": " ",
                    "eventType": "nope",
                    "condition": {"all": [{"time": {"field": "hour", "op": "gt"}}]},
                    "effect": {"points": -1},
                    "budget": {"memberPoints": 0},
                    "exclusiveGroup": "",
                    "startsAt": naive,
                }
            }
        ],
        "reviseEarningRule": [{"id": "nope", "input": {"priority": None}}],
        "archiveEarningRule": [{"id": "nope"}],
    }


def test_the_table_holds_every_mutation_that_can_fail_validation():
    s = schema()
    expected = {name for name in s.mutation_type.fields if can_fail_validation(s, name)}  # type: ignore[union-attr]
    assert set(cases(defaultdict(str, now=factories.now()))) == expected


async def test_every_problem_names_an_argument_or_an_input_field(app, settings, things):
    s = schema()
    transport = httpx.ASGITransport(app=app)
    admin = bearer(settings, Role.ADMIN)
    member = bearer(settings, Role.MEMBER, member_id=things["member"].id)
    seen: dict[str, set[str]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for mutation, variable_sets in cases(things).items():
            names = field_names(s, mutation)
            client.headers.update(member if mutation in MEMBER_TOKEN else admin)
            for variables in variable_sets:
                body = await graphql(client, document(s, mutation), variables)
                assert "errors" not in body, (mutation, variables, body)
                fields = reported(body["data"][mutation])
                # Each case breaks a rule: the check is never vacuous.
                assert fields, (mutation, variables, body)
                for field in fields:
                    assert field.split(".")[0] in names, f"{mutation} reports {field!r}"
                seen.setdefault(mutation, set()).update(fields)
    # The seasons and leaderboard mutations once said starts_at and visible_from.
    assert {"startsAt", "endsAt"} <= seen["updateSeason"] & seen["createSeason"]
    assert {"visibleFrom", "tierCode", "seasonId"} <= seen["createLeaderboard"]
    assert {"value.percent", "minTierRank", "pointsCost"} <= seen["createBenefit"] | seen[
        "createReward"
    ]
