"""Engagement analytics over GraphQL, and the members-at-risk CSV export over HTTP."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest

from app.api.analytics import exports
from app.api.shared.ids import encode_id
from app.auth import Role
from app.models import Benefit, BenefitGrant, GrowthTask, Member, Season
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from tests import factories
from tests.factories import bearer

EXPORT = "/exports/members-at-risk.csv"


async def test_task_funnel_of_one_task(client):
    task = await factories.task(code="check-in-once")
    doer, _ = await factories.member(), await factories.member()
    await factories.event(doer, "check_in")

    data = await factories.operation(client, "TaskFunnel", taskId=encode_id("GrowthTask", task.id))

    [row] = data["taskFunnel"]
    assert row["code"] == "check-in-once"
    assert row["seasonId"] is None and row["startsAt"] is None
    assert (row["eligible"], row["started"], row["completed"], row["completions"]) == (2, 1, 1, 1)


async def test_task_funnel_refuses_an_id_of_another_kind(client):
    body = await factories.graphql(
        client,
        "query($id: ID) { taskFunnel(taskId: $id) { code } }",
        {"id": encode_id("Season", 1)},
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "taskId"}


async def test_seasonal_benefit_uptake_of_a_running_season(client):
    member = await factories.member()
    now = factories.now()
    season = await Season.create(
        code="summer",
        name="Summer",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=9),
    )
    benefit = await Benefit.create(
        code="ship", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    await BenefitGrant.create(
        member_id=member.id,
        benefit_id=benefit.id,
        source=GrantSource.SEASON,
        source_ref=str(season.id),
        valid_from=season.starts_at,
        valid_to=season.ends_at,
        status=GrantStatus.USED,
        tier_code="member",
    )

    data = await factories.operation(
        client, "SeasonalBenefitUptake", seasonId=encode_id("Season", season.id)
    )

    assert data["seasonalBenefitUptake"] == [
        {
            "seasonId": encode_id("Season", season.id),
            "seasonCode": "summer",
            "benefitId": encode_id("Benefit", benefit.id),
            "benefitCode": "ship",
            "tierCode": "member",
            "granted": 1,
            "used": 1,
            "expired": 0,
            "active": 0,
        }
    ]


async def at_risk(*names: str) -> list[Member]:
    """Silver members whose growth fell under Silver's retention threshold (800). Names are
    written directly: enrolment refuses control characters, older data may hold them."""
    if not await GrowthTask.filter(code="big").exists():
        await factories.task(code="big", reward_growth=1_000)
    members = []
    for n, name in enumerate(names):
        member = await factories.member()
        await factories.event(member, "check_in")
        await Member.filter(id=member.id).update(growth=100 + n, display_name=name)
        members.append(member)
    return members


def rows_of(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text, newline="")))


HOSTILE = [
    'Smith, "Jo"\nJr',
    '=HYPERLINK("http://x","y")',
    "+31 6 1234",
    "-2+3",
    "@SUM(A1)",
    "Ann",
]


async def test_the_export_streams_every_member_at_risk_as_csv(client, monkeypatch):
    members = await at_risk(*HOSTILE)
    await factories.member(display_name="Safe")  # the base tier is never at risk
    calls = []
    real = exports.members_at_risk

    async def counted(**kwargs):
        calls.append(kwargs["after_id"])
        return await real(**kwargs)

    monkeypatch.setattr(exports, "BATCH", 4)
    monkeypatch.setattr(exports, "members_at_risk", counted)

    response = await client.get(EXPORT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="members-at-risk-')
    assert disposition.endswith('.csv"')
    assert "\r\n" in response.text
    header, *rows = rows_of(response)
    assert header == list(exports.MEMBERS_AT_RISK_HEADER)
    assert rows == [
        [encode_id("Member", m.id), name, "silver", str(100 + n), "800", str(700 - n)]
        for n, (m, name) in enumerate(
            zip(
                members,
                [
                    'Smith, "Jo"\nJr',
                    '\'=HYPERLINK("http://x","y")',
                    "'+31 6 1234",
                    "'-2+3",
                    "'@SUM(A1)",
                    "Ann",
                ],
                strict=True,
            )
        )
    ]
    # Two batches of 4 in member order, keyset after the last member of the first.
    assert calls == [None, members[3].id]


async def test_the_export_of_nobody_is_a_header(client):
    response = await client.get(EXPORT)
    assert response.status_code == 200
    assert rows_of(response) == [list(exports.MEMBERS_AT_RISK_HEADER)]


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), (Role.MEMBER, 403), (Role.SERVICE, 403), (Role.MARKETER, 200)],
)
async def test_the_export_is_for_marketers_and_admins(app, settings, role, status):
    member = await factories.member()
    headers = (
        {}
        if role is None
        else bearer(settings, role, member_id=member.id if role is Role.MEMBER else None)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        response = await c.get(EXPORT)
    assert response.status_code == status, response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    if status == 403:
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_export_refuses_a_bad_token(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get(EXPORT, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_only_text_that_a_spreadsheet_would_run_gets_an_apostrophe():
    assert [exports.text_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "a=b", "")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "a=b",
        "",
    ]
