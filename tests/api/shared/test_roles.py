"""Who may call what: every client operation under every kind of caller, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest
from graphql import FieldNode, OperationDefinitionNode, OperationType, parse

from app.api.shared.ids import encode_id
from app.auth import Role, mint_token
from app.models import (
    AuditEntry,
    Badge,
    Benefit,
    BenefitGrant,
    Event,
    EventType,
    GrowthTask,
    LadderVersion,
    LadderVersionStatus,
    Leaderboard,
    LeaderboardMember,
    Member,
    PointsLedgerEntry,
    Redemption,
    Reward,
    Season,
    SeasonalBenefit,
    Tier,
    TierBenefit,
    WebhookEndpoint,
)
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from gamification.leaderboards import Metric, Period
from tests import factories
from tests.factories import bearer
from tests.operations import documents, payload, subscriptions

CALLERS = ("anonymous", "member", "other-member", "marketer", "admin", "service")
EVERYONE = set(CALLERS)
SELF_AND_STAFF = {"member", "marketer", "admin", "service"}
STAFF = {"marketer", "admin", "service"}

# Which callers each operation in graphql/operations/ allows; all others are refused.
ALLOWED = {
    "TierLadder": EVERYONE,
    "Me": {"member", "other-member"},
    "MyPendingPoints": {"member", "other-member"},
    "Leaderboard": SELF_AND_STAFF | {"other-member"},
    "LeaderboardTop": SELF_AND_STAFF | {"other-member"},
    "OpenLeaderboards": SELF_AND_STAFF | {"other-member"},
    "Leaderboards": {"marketer", "admin"},
    "ProgrammeOverview": {"marketer", "admin"},
    "MembersAtRisk": {"marketer", "admin"},
    "TierDynamics": {"marketer", "admin"},
    "TaskFunnel": {"marketer", "admin"},
    "SeasonalBenefitUptake": {"marketer", "admin"},
    "CreateLeaderboard": {"marketer", "admin"},
    "UpdateLeaderboard": {"marketer", "admin"},
    "ArchiveLeaderboard": {"marketer", "admin"},
    "SetLeaderboardVisibility": {"member", "other-member"},
    "FlagMember": {"admin"},
    "Member": SELF_AND_STAFF,
    "MemberByExternalId": SELF_AND_STAFF,
    "MemberLedger": SELF_AND_STAFF,
    "MemberProgress": SELF_AND_STAFF,
    "Members": STAFF,
    "EnrollMember": {"admin", "service"},
    "AwardPoints": {"admin"},
    "RecordEvent": {"admin", "service"},
    "RecordEvents": {"admin", "service"},
    "ReverseEvent": {"admin", "service"},
    "CreateSeason": {"marketer", "admin"},
    "UpdateSeason": {"marketer", "admin"},
    "ArchiveSeason": {"marketer", "admin"},
    "CreateGrowthTask": {"marketer", "admin"},
    "UpdateGrowthTask": {"marketer", "admin"},
    "SetGrowthTaskStatus": {"marketer", "admin"},
    "Seasons": {"marketer", "admin"},
    "GrowthTasks": {"marketer", "admin"},
    "CreateBadge": {"marketer", "admin"},
    "UpdateBadge": {"marketer", "admin"},
    "Badges": {"marketer", "admin"},
    "CreateEventType": {"marketer", "admin"},
    "UpdateEventType": {"marketer", "admin"},
    "SetEventTypeActive": {"marketer", "admin"},
    "EventTypes": {"marketer", "admin"},
    "SetEventTypeAttributes": {"marketer", "admin"},
    "CreateEarningRule": {"marketer", "admin"},
    "ReviseEarningRule": {"marketer", "admin"},
    "ArchiveEarningRule": {"marketer", "admin"},
    "EarningRules": {"marketer", "admin"},
    "AuditLog": {"admin"},
    "AdjustPoints": {"admin"},
    "MarkNotificationsRead": {"member", "other-member"},
    "SuggestThresholds": {"marketer", "admin"},
    # Before PublishLadderVersion, which turns the draft into a published version.
    "SimulateLadder": {"admin"},
    "CreateLadderDraft": {"admin"},
    "PublishLadderVersion": {"admin"},
    "LadderVersions": {"admin"},
    "RewardsScreen": {"member", "other-member"},
    "Rewards": SELF_AND_STAFF | {"other-member"},
    "RedeemPoints": {"member", "other-member"},
    "CreateReward": {"marketer", "admin"},
    "UpdateReward": {"marketer", "admin"},
    "ArchiveReward": {"marketer", "admin"},
    # Another member's redemption is a NotFound result, not a refusal.
    "CancelRedemption": SELF_AND_STAFF | {"other-member"},
    "RewardCouponPools": {"marketer", "admin"},
    "GenerateCoupons": {"marketer", "admin"},
    "ImportCoupons": {"marketer", "admin"},
    "MemberBenefits": SELF_AND_STAFF,
    # Another member's grant is a NotFound result, not a refusal.
    "UseBenefit": {"member", "other-member"},
    "BenefitsCatalogue": {"marketer", "admin"},
    "TierBenefits": {"marketer", "admin"},
    "SeasonalBenefits": {"marketer", "admin"},
    "CreateBenefit": {"marketer", "admin"},
    "UpdateBenefit": {"marketer", "admin"},
    "SetTierBenefits": {"marketer", "admin"},
    "AttachSeasonalBenefit": {"marketer", "admin"},
    "DetachSeasonalBenefit": {"marketer", "admin"},
    "ArchiveBenefit": {"marketer", "admin"},
    "TrustedManifests": {"admin"},
    "RegisterTrustedDocuments": {"admin"},
    "RevokeTrustedDocuments": {"admin"},
    "WebhookEndpoints": {"admin"},
    "WebhookDeliveries": {"admin"},
    "CreateWebhookEndpoint": {"admin"},
    "UpdateWebhookEndpoint": {"admin"},
    "RotateWebhookSecret": {"admin"},
    "ReplayWebhookDelivery": {"admin"},
    "ExportMember": {"admin", "service"},
    "MemberExportJob": {"admin", "service"},
    # Last: a deactivated member's events and redemptions are refused (then reactivated).
    "UpdateMember": {"admin", "service"},
    "DeactivateMember": {"admin", "service"},
    "ReactivateMember": {"admin", "service"},
    "MergeMembers": {"admin", "service"},
    # Very last: an erased member's token and events are refused for good.
    "EraseMember": {"admin"},
}


def _operation(name: str) -> OperationDefinitionNode:
    for definition in parse(documents()[name]).definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            if definition.name.value == name:
                return definition
    raise KeyError(name)


def root_field(name: str) -> str:
    """The response key of an operation's first root field."""
    selection = _operation(name).selection_set.selections[0]
    assert isinstance(selection, FieldNode)
    return (selection.alias or selection.name).value


# A refused signed-in caller of a mutation gets a Forbidden result in data; of a query, a
# FORBIDDEN error.
TYPED_REFUSALS = {name for name in ALLOWED if _operation(name).operation is OperationType.MUTATION}


def variables(
    name: str,
    member: Member,
    season: Season,
    task: GrowthTask,
    reward: Reward,
    draft: LadderVersion,
    badge: Badge,
    event_type: EventType,
    benefit: Benefit,
    grant: BenefitGrant,
    board: Leaderboard,
) -> dict[str, object]:
    member_id = encode_id("Member", member.id)
    now = factories.now()
    return {
        "TierLadder": {},
        "Me": {},
        "MyPendingPoints": {},
        "Leaderboard": {"code": board.code, "first": 5},
        "LeaderboardTop": {"code": board.code},
        "OpenLeaderboards": {},
        "Leaderboards": {},
        "MembersAtRisk": {"first": 5},
        "TaskFunnel": {"seasonId": encode_id("Season", season.id)},
        "SeasonalBenefitUptake": {"seasonId": encode_id("Season", season.id)},
        "ProgrammeOverview": {
            "from": (now - timedelta(days=60)).isoformat(),
            "to": now.isoformat(),
        },
        "TierDynamics": {
            "from": (now - timedelta(days=60)).isoformat(),
            "to": now.isoformat(),
        },
        "CreateLeaderboard": {
            "input": {
                "code": "growth-week",
                "name": "Growth this week",
                "metric": "GROWTH",
                "period": "WEEK",
            }
        },
        "UpdateLeaderboard": {
            "id": encode_id("Leaderboard", board.id),
            "input": {"name": "Top earners"},
        },
        "ArchiveLeaderboard": {"id": encode_id("Leaderboard", board.id)},
        "SetLeaderboardVisibility": {"visible": False},
        "FlagMember": {"memberId": member_id, "flagged": True, "reason": "Bot-like activity"},
        "Member": {"id": member_id},
        "MemberByExternalId": {"externalId": member.external_id},
        "MemberLedger": {"id": member_id, "first": 5},
        "MemberProgress": {"id": member_id},
        "Members": {"first": 5},
        "EnrollMember": {"externalId": "new-one", "displayName": "New"},
        "UpdateMember": {"id": member_id, "input": {"locale": "fr-CA"}},
        "DeactivateMember": {"id": member_id, "reason": "Account closed"},
        "ReactivateMember": {"id": member_id},
        # No such duplicate: a NotFound for whoever may merge, nothing written.
        "MergeMembers": {
            "survivorId": member_id,
            "duplicateId": encode_id("Member", member.id + 10_000),
        },
        "ExportMember": {"id": member_id},
        "MemberExportJob": {"id": encode_id("MemberExport", 1)},
        "EraseMember": {"id": member_id, "confirm": member.external_id},
        "AwardPoints": {
            "memberId": member_id,
            "amount": 5,
            "reason": "Goodwill",
            "idempotencyKey": "aw-1",
        },
        "RecordEvent": {
            "input": {
                "memberId": member_id,
                "type": "check_in",
                "occurredAt": factories.now().isoformat(),
                "idempotencyKey": "ev-1",
            }
        },
        "RecordEvents": {
            "inputs": [
                {
                    "memberId": member_id,
                    "type": "check_in",
                    "occurredAt": factories.now().isoformat(),
                    "idempotencyKey": "evs-1",
                }
            ]
        },
        "ReverseEvent": {"idempotencyKey": "seeded-event", "reason": "Returned"},
        "CreateSeason": {
            "input": {
                "code": "spring",
                "name": "Spring Festival",
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(days=14)).isoformat(),
            }
        },
        "UpdateSeason": {"id": encode_id("Season", season.id), "input": {"name": "Summer!"}},
        "ArchiveSeason": {"id": encode_id("Season", season.id)},
        "CreateGrowthTask": {
            "input": {
                "code": "share-5",
                "name": "Share 5 times",
                "eventType": "share",
                "condition": "COUNT",
                "target": 5,
            }
        },
        "UpdateGrowthTask": {"id": encode_id("GrowthTask", task.id), "input": {"target": 3}},
        "SetGrowthTaskStatus": {"id": encode_id("GrowthTask", task.id), "status": "PAUSED"},
        "Seasons": {},
        "GrowthTasks": {},
        "CreateBadge": {
            "input": {
                "code": "sharer",
                "name": "Sharer",
                "metric": "EVENTS",
                "subject": "share",
                "thresholds": [1, 10],
            }
        },
        "UpdateBadge": {"id": encode_id("Badge", badge.id), "input": {"hidden": True}},
        "Badges": {},
        "CreateEventType": {"input": {"code": "review", "name": "Review", "basePoints": 5}},
        "UpdateEventType": {"code": "share", "input": {"basePoints": 3}},
        "SetEventTypeActive": {"id": encode_id("EventType", event_type.id), "active": False},
        "SetEventTypeAttributes": {
            "code": event_type.code,
            "attributes": [{"name": "store", "type": "STRING"}],
        },
        "CreateEarningRule": {
            "input": {
                "code": "bonus",
                "name": "Bonus",
                "eventType": "check_in",
                "effect": {"points": 5},
            }
        },
        # The rule CreateEarningRule made (ids start at 1 in every test database).
        "ReviseEarningRule": {"id": encode_id("EarningRule", 1), "input": {"priority": 2}},
        "ArchiveEarningRule": {"id": encode_id("EarningRule", 1)},
        "EarningRules": {},
        "EventTypes": {"includeInactive": True},
        "AuditLog": {},
        "AdjustPoints": {
            "memberId": member_id,
            "delta": 3,
            "reason": "Goodwill gesture",
            "idempotencyKey": "adj-1",
        },
        "MarkNotificationsRead": {"all": True},
        "SuggestThresholds": {"targetShares": [0.4, 0.1]},
        "SimulateLadder": {"draftVersionId": encode_id("LadderVersion", draft.id)},
        "CreateLadderDraft": {
            "tiers": [
                {
                    "code": "base",
                    "name": "Base",
                    "rank": 0,
                    "entryThreshold": 0,
                    "retentionThreshold": 0,
                    "multiplier": "1",
                },
            ]
        },
        "PublishLadderVersion": {
            "id": encode_id("LadderVersion", draft.id),
            "effectiveAt": (now + timedelta(days=30)).isoformat(),
        },
        "LadderVersions": {},
        "RewardsScreen": {},
        "Rewards": {"includeArchived": True},
        "RedeemPoints": {"rewardId": encode_id("Reward", reward.id)},
        "CreateReward": {"input": {"code": "mug", "name": "Mug", "pointsCost": 500}},
        "UpdateReward": {"id": encode_id("Reward", reward.id), "input": {"stock": 9}},
        "ArchiveReward": {"id": encode_id("Reward", reward.id)},
        "CancelRedemption": {"id": encode_id("Redemption", 999_999), "reason": "Returned"},
        "RewardCouponPools": {},
        "GenerateCoupons": {
            "rewardId": encode_id("Reward", reward.id),
            "pattern": "TOTE-####",
            "count": 5,
        },
        "ImportCoupons": {"rewardId": encode_id("Reward", reward.id), "csv": "TOTE-A1\nTOTE-B2"},
        "MemberBenefits": {"id": member_id},
        "UseBenefit": {"grantId": encode_id("BenefitGrant", grant.id)},
        "BenefitsCatalogue": {"includeArchived": True},
        "TierBenefits": {},
        "SeasonalBenefits": {"seasonId": encode_id("Season", season.id)},
        "CreateBenefit": {
            "input": {"code": "ship", "name": "Free shipping", "kind": "FREE_SHIPPING", "value": {}}
        },
        "UpdateBenefit": {"id": encode_id("Benefit", benefit.id), "input": {"name": "15% off"}},
        "SetTierBenefits": {"tierCode": "gold", "benefitCodes": [benefit.code]},
        "AttachSeasonalBenefit": {
            "seasonId": encode_id("Season", season.id),
            "benefitId": encode_id("Benefit", benefit.id),
            "tierCodes": ["gold"],
        },
        "DetachSeasonalBenefit": {
            "seasonId": encode_id("Season", season.id),
            "benefitId": encode_id("Benefit", benefit.id),
        },
        "ArchiveBenefit": {"id": encode_id("Benefit", benefit.id)},
        "TrustedManifests": {"includeRevoked": True},
        "RegisterTrustedDocuments": {
            "client": "member-app",
            "version": "1.0",
            "manifest": {"ladder": "query Ladder { tierLadder { name } }"},
        },
        "RevokeTrustedDocuments": {"client": "member-app", "version": "0.9"},
        "WebhookEndpoints": {},
        "WebhookDeliveries": {"endpointId": encode_id("WebhookEndpoint", 1)},
        # Refused for its address even for an admin (no receiver runs in this test).
        "CreateWebhookEndpoint": {
            "url": "https://127.0.0.1/hook",
            "eventTypes": ["task.completed"],
        },
        "UpdateWebhookEndpoint": {"id": encode_id("WebhookEndpoint", 1), "enabled": False},
        "RotateWebhookSecret": {"id": encode_id("WebhookEndpoint", 1)},
        "ReplayWebhookDelivery": {"id": encode_id("WebhookDelivery", 1)},
    }[name]


def test_the_table_covers_every_client_operation():
    # Subscriptions run over WebSocket; tests/api/notifications/test_subscriptions.py checks
    # who may.
    assert set(ALLOWED) == set(documents()) - subscriptions()


async def counts() -> tuple[int, ...]:
    """Rows of every table a refused operation must leave alone."""
    return (
        await PointsLedgerEntry.all().count(),
        await Event.all().count(),
        await Member.all().count(),
        await AuditEntry.all().count(),
        await Season.filter(archived_at__isnull=True).count(),
        await Redemption.all().count(),
        await Reward.filter(archived_at__isnull=True).count(),
        await Badge.all().count(),
        await EventType.filter(active=True).count(),
        await Benefit.filter(archived_at__isnull=True).count(),
        await TierBenefit.all().count(),
        await SeasonalBenefit.all().count(),
        await BenefitGrant.filter(status=GrantStatus.ACTIVE).count(),
        await Leaderboard.filter(archived_at__isnull=True).count(),
        await LeaderboardMember.all().count(),
        await WebhookEndpoint.all().count(),
    )


def headers_for(caller: str, settings, member: Member, other: Member) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "member":
        return bearer(settings, Role.MEMBER, member_id=member.id)
    if caller == "other-member":
        return bearer(settings, Role.MEMBER, member_id=other.id)
    return bearer(settings, Role(caller))


@pytest.mark.parametrize("caller", CALLERS)
async def test_each_operation_allows_exactly_the_callers_in_the_table(app, settings, caller):
    member = await factories.member()
    other = await factories.member()
    await factories.event(member, "purchase", amount="10", key="seeded-event")
    season = await Season.create(
        code="summer",
        name="Summer",
        starts_at=factories.now(),
        ends_at=factories.now() + timedelta(days=30),
    )
    task = await factories.task()
    reward = await Reward.create(code="tote", name="Tote bag", points_cost=1, stock=5)
    draft = await LadderVersion.create(number=99, status=LadderVersionStatus.DRAFT)
    await Tier.create(
        ladder_version=draft,
        code="member",
        name="Member",
        rank=0,
        entry_threshold=0,
        retention_threshold=0,
        multiplier=1,
    )
    badge = await factories.badge()
    event_type = await EventType.create(code="legacy", name="Legacy")
    benefit = await Benefit.create(
        code="ten-off", name="10% off", kind=BenefitKind.DISCOUNT, value={"percent": 10}
    )
    grant = await BenefitGrant.create(
        member=member,
        benefit=benefit,
        source=GrantSource.MANUAL,
        source_ref="test",
        valid_from=factories.now() - timedelta(hours=1),
    )
    board = await Leaderboard.create(
        code="points-all",
        name="Top earners",
        metric=Metric.POINTS_EARNED,
        period=Period.ALL_TIME,
        created_at=factories.now(),
        updated_at=factories.now(),
    )
    transport = httpx.ASGITransport(app=app)
    headers = headers_for(caller, settings, member, other)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        for name, allowed in ALLOWED.items():
            before = await counts()
            response = await c.post(
                "/graphql",
                json=payload(
                    name,
                    **variables(
                        name,
                        member,
                        season,
                        task,
                        reward,
                        draft,
                        badge,
                        event_type,
                        benefit,
                        grant,
                        board,
                    ),
                ),
            )
            assert response.status_code == 200, response.text
            body = response.json()
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            field = root_field(name)
            if caller in allowed:
                assert "errors" not in body, (name, caller, body)
                if name in TYPED_REFUSALS:
                    assert body["data"][field]["__typename"] != "Forbidden", (name, caller)
                continue
            if caller == "anonymous":
                assert codes == {"UNAUTHENTICATED"}, (name, caller, body)
            elif name in TYPED_REFUSALS:
                role = "member" if caller == "other-member" else caller
                refusal = body["data"][field]
                assert "errors" not in body, (name, caller, body)
                assert refusal["__typename"] == "Forbidden", (name, caller, body)
                assert refusal["message"].startswith(f"the {role} role may not do this"), body
            else:
                assert codes == {"FORBIDDEN"}, (name, caller, body)
            assert await counts() == before, name


async def test_a_member_cannot_read_another_member_nor_probe_external_ids(app, settings):
    member = await factories.member()
    other = await factories.member()
    transport = httpx.ASGITransport(app=app)
    headers = bearer(settings, Role.MEMBER, member_id=other.id)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        body = (
            await c.post(
                "/graphql",
                json={
                    "query": "query($id: ID!) { member(id: $id) { ledger { edges { cursor } } } }",
                    "variables": {"id": encode_id("Member", member.id)},
                },
            )
        ).json()
        unknown = (
            await c.post(
                "/graphql",
                json=payload("MemberByExternalId", externalId="no-such-member"),
            )
        ).json()
    assert body["data"] == {"member": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Asking about an external id that does not exist tells a member nothing either.
    assert unknown["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s, t: t[:-3] + "abc", id="bad-signature"),
        pytest.param(
            lambda s, t: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False})}, key="", algorithm="none"
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda s, t: mint_token(
                settings=s,
                role=Role.ADMIN,
                subject="x",
                now=factories.now() - timedelta(days=2),
                ttl=timedelta(hours=1),
            ),
            id="expired",
        ),
        pytest.param(
            lambda s, t: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False}), "aud": "someone-else"},
                s.jwt_secret,
                algorithm="HS256",
            ),
            id="wrong-audience",
        ),
        pytest.param(
            lambda s, t: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False}), "iss": "mallory"},
                s.jwt_secret,
                algorithm="HS256",
            ),
            id="wrong-issuer",
        ),
        pytest.param(
            lambda s, t: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False}), "role": "root"},
                s.jwt_secret,
                algorithm="HS256",
            ),
            id="unknown-role",
        ),
        pytest.param(
            lambda s, t: jwt.encode(
                {**jwt.decode(t, options={"verify_signature": False}), "role": "member"},
                s.jwt_secret,
                algorithm="HS256",
            ),
            id="member-without-member-id",
        ),
    ],
)
async def test_untrustworthy_tokens_are_refused_with_401(app, settings, mangle):
    token = bearer(settings, Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post(
            "/graphql",
            json=payload("Members", first=1),
            headers={"Authorization": f"Bearer {mangle(settings, token)}"},
        )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_rs256_tokens_are_checked_with_the_public_key(settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from app.auth import InvalidToken, decode_token

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    rs = settings.model_copy(update={"jwt_algorithm": "RS256", "jwt_public_key": public})
    claims = {
        "sub": "crm",
        "role": "service",
        "iss": rs.jwt_issuer,
        "aud": rs.jwt_audience,
        "exp": factories.now() + timedelta(minutes=5),
    }

    principal = decode_token(
        jwt.encode(claims, key, algorithm="RS256"), settings=rs, now=factories.now()
    )

    assert principal.role is Role.SERVICE
    # An HS256 token signed with the public key as secret (algorithm confusion) is refused.
    with pytest.raises(InvalidToken):
        decode_token(
            jwt.encode(claims, settings.jwt_secret, algorithm="HS256"),
            settings=rs,
            now=factories.now(),
        )


async def test_a_token_expires_by_the_apps_clock_not_the_wall_clock(client, clock):
    # Given a token minted now, valid for 12 hours (the client fixture's admin token)
    assert (await client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200

    # When the app's clock passes its expiry (the wall clock does not move)
    clock.advance(timedelta(hours=12, minutes=1))
    response = await client.post("/graphql", json={"query": "{ __typename }"})

    # Then it is refused as expired
    assert response.status_code == 401
    assert "expired" in response.text


async def test_a_token_dated_by_the_apps_clock_is_valid_whatever_the_wall_clock(
    app, settings, clock
):
    # Given the app's clock a year before the wall clock, and a token minted by that clock
    clock.set(factories.now() - timedelta(days=365))
    transport = httpx.ASGITransport(app=app)
    headers = factories.bearer(settings, Role.MARKETER)

    # When it is used
    async with httpx.AsyncClient(transport=transport, base_url="http://laurel.test") as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)

    # Then the app accepts it: by the app's clock it is fresh
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
