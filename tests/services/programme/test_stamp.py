"""The programme stamp moves with every catalogue write, in its transaction, and never with
an event: on SQLite and PostgreSQL, whoever writes."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app import db
from app.models import (
    Benefit,
    EventType,
    LadderVersion,
    LadderVersionStatus,
    Member,
    Season,
    SeasonalBenefit,
    Tier,
    TierBenefit,
)
from app.services.activity import event_types
from app.services.activity.reversals import reverse_event
from app.services.badges import catalogue as badges
from app.services.benefits import catalogue as benefit_service
from app.services.programme.stamp import STAMP_SQL, StampMissing, read_stamp
from app.services.seasons import catalogue as seasons
from app.services.seasons.switch import switch_seasons
from app.services.shared.audit import Actor
from app.services.tasks import catalogue as tasks
from app.services.tasks.catalogue import TaskDefinition
from app.services.tiers import versions as ladder_versions
from gamification.activity.engine import GrowthWeights
from gamification.badges import BadgeMetric
from gamification.benefits import BenefitKind
from gamification.tasks import Condition
from gamification.tiers.ladder import TierRule
from tests import factories
from tests.conftest import _fresh_sqlite_copy, _truncate_postgres

MIGRATION = importlib.import_module("app.migrations.0021_programme_stamp")
MARKETER = Actor(subject="test-marketer", role="marketer")
COUPON = {"code_prefix": "FEST", "percent": 10}


async def stamp() -> int:
    return await read_stamp(db.connection())


# Each case makes what its row needs, then returns how to insert the row and a change of
# one of its columns.
Insert = Callable[[], Awaitable[Model]]
Case = tuple[Insert, dict[str, Any]]


async def event_type_case() -> Case:
    return lambda: EventType.create(code="visit", name="Visit", base_points=1), {"base_points": 2}


async def growth_task_case() -> Case:
    return lambda: factories.task(code="visit-once"), {"reward_points": 99}


async def season_case() -> Case:
    start = factories.now()
    return (
        lambda: Season.create(
            code="spring", name="Spring", starts_at=start, ends_at=start + timedelta(days=7)
        ),
        {"name": "Spring festival"},
    )


async def badge_case() -> Case:
    return lambda: factories.badge(code="starter"), {"thresholds": [1, 5]}


async def ladder_version_case() -> Case:
    return (
        lambda: LadderVersion.create(number=7, status=LadderVersionStatus.DRAFT),
        {"notes": "Gold gets easier"},
    )


async def tier_case() -> Case:
    draft = await LadderVersion.create(number=7, status=LadderVersionStatus.DRAFT)

    async def insert() -> Tier:
        return await Tier.create(
            ladder_version=draft,
            code="base",
            name="Base",
            rank=0,
            entry_threshold=0,
            retention_threshold=0,
            multiplier=Decimal(1),
        )

    return insert, {"multiplier": Decimal(2)}


async def benefit_case() -> Case:
    return (
        lambda: Benefit.create(code="coupon", name="Coupon", kind=BenefitKind.COUPON, value=COUPON),
        {"name": "Festival coupon"},
    )


async def seasonal_benefit_case() -> Case:
    insert, _ = await season_case()
    spring = await insert()
    insert, _ = await benefit_case()
    coupon = await insert()
    return (
        lambda: SeasonalBenefit.create(season=spring, benefit=coupon, tier_codes=["gold"]),
        {"tier_codes": ["silver", "gold"]},
    )


async def tier_benefit_case() -> Case:
    insert, _ = await benefit_case()
    coupon = await insert()
    return lambda: TierBenefit.create(tier_code="gold", benefit=coupon), {"tier_code": "silver"}


CASES: dict[str, Callable[[], Awaitable[Case]]] = {
    "event_type": event_type_case,
    "growth_task": growth_task_case,
    "season": season_case,
    "badge": badge_case,
    "ladder_version": ladder_version_case,
    "tier": tier_case,
    "benefit": benefit_case,
    "seasonal_benefit": seasonal_benefit_case,
    "tier_benefit": tier_benefit_case,
}


def test_every_table_with_a_stamp_trigger_is_tested_here():
    assert sorted(MIGRATION.CATALOGUE) == sorted(CASES)


@pytest.mark.usefixtures("orm")
async def test_a_fresh_database_has_one_stamp_row():
    rows = await db.connection().execute_query_dict(
        f"SELECT count(*) AS n, {STAMP_SQL} AS stamp FROM programme_stamp"
    )
    assert rows[0]["n"] == 1
    assert rows[0]["stamp"] == await stamp()
    assert 0 <= await stamp() < 2**63


@pytest.mark.usefixtures("orm")
@pytest.mark.parametrize("table", sorted(CASES))
async def test_an_insert_an_update_and_a_delete_each_move_the_stamp(table):
    insert, changes = await CASES[table]()
    seen = [await stamp()]

    row = await insert()
    seen.append(await stamp())
    await type(row).filter(id=row.pk).update(**changes)
    seen.append(await stamp())
    await type(row).filter(id=row.pk).delete()
    seen.append(await stamp())

    assert row._meta.db_table == table
    assert len(set(seen)) == 4, seen


@pytest.mark.usefixtures("orm")
async def test_a_raw_sql_update_moves_the_stamp():
    before = await stamp()

    await db.connection().execute_query("UPDATE event_type SET name = 'Visit in store'")

    assert await stamp() != before


@pytest.mark.usefixtures("orm")
@pytest.mark.parametrize("table", sorted(CASES))
async def test_a_truncate_moves_the_stamp(backend, table):
    if backend != "postgres":
        pytest.skip("SQLite has no TRUNCATE (a DELETE fires the delete trigger)")
    insert, _ = await CASES[table]()
    await insert()
    before = await stamp()

    await db.connection().execute_script(f"TRUNCATE {table} CASCADE")

    assert await stamp() != before


@pytest.mark.usefixtures("orm")
async def test_a_change_rolled_back_leaves_the_stamp_as_it_was():
    before = await stamp()

    with pytest.raises(RuntimeError, match="changed my mind"):
        async with in_transaction() as conn:
            await EventType.create(code="visit", name="Visit", using_db=conn)
            inside = await read_stamp(conn)
            raise RuntimeError("changed my mind")

    assert inside != before  # the transaction saw its own new stamp
    assert await stamp() == before
    assert not await EventType.exists(code="visit")


async def _publish_a_ladder_version() -> None:
    now = factories.now()
    draft = await ladder_versions.create_draft(
        tiers=(
            TierRule("member", "Member", 0, 0, 0, Decimal("1")),
            TierRule("silver", "Silver", 1, 800, 600, Decimal("1.1")),
        ),
        weights=GrowthWeights(),
        notes="",
        actor=MARKETER,
        now=now,
    )
    before = await stamp()
    await ladder_versions.publish(
        version_id=draft.id,
        effective_at=now + timedelta(days=30),
        notice=timedelta(days=30),
        actor=MARKETER,
        now=now,
    )
    assert await stamp() != before


async def _create_a_season() -> None:
    await seasons.create_season(
        code="summer",
        name="Summer",
        starts_at=factories.now() + timedelta(days=1),
        ends_at=factories.now() + timedelta(days=30),
        actor=MARKETER,
        now=factories.now(),
    )


async def _archive_a_season() -> None:
    await _create_a_season()
    summer = await Season.get(code="summer")
    before = await stamp()
    await seasons.archive_season(season_id=summer.id, actor=MARKETER, now=factories.now())
    assert await stamp() != before


async def _create_a_growth_task() -> None:
    await tasks.create_task(
        definition=TaskDefinition(
            code="daily",
            name="Daily",
            event_type="check_in",
            condition=Condition.COUNT,
            target=1,
            reward_points=10,
        ),
        actor=MARKETER,
        now=factories.now(),
    )


async def _create_a_badge() -> None:
    await badges.create_badge(
        code="regular",
        name="Regular",
        metric=BadgeMetric.TASKS_COMPLETED,
        thresholds=[3],
        actor=MARKETER,
        now=factories.now(),
    )


async def _create_an_event_type() -> None:
    await event_types.create_event_type(
        code="visit", name="Visit", base_points=3, actor=MARKETER, now=factories.now()
    )


async def _change_an_event_type_s_points() -> None:
    await event_types.update_event_type(
        code="check_in", changes={"base_points": 50}, actor=MARKETER, now=factories.now()
    )


async def _set_a_tier_s_benefits() -> None:
    await factories.ladder()
    await Benefit.create(code="coupon", name="Coupon", kind=BenefitKind.COUPON, value=COUPON)
    before = await stamp()
    await benefit_service.set_tier_benefits(
        tier_code="gold", benefit_codes=["coupon"], actor=MARKETER, now=factories.now()
    )
    assert await stamp() != before


async def _attach_a_seasonal_multiplier() -> None:
    await factories.ladder()
    await _create_a_season()
    summer = await Season.get(code="summer")
    double = await Benefit.create(
        code="double", name="Double", kind=BenefitKind.POINTS_MULTIPLIER, value={"factor": 2}
    )
    before = await stamp()
    await benefit_service.attach_seasonal_benefit(
        season_id=summer.id,
        benefit_id=double.id,
        tier_codes=["gold"],
        actor=MARKETER,
        now=factories.now(),
    )
    assert await stamp() != before


MARKETER_CHANGES = {
    "publish a ladder version": _publish_a_ladder_version,
    "create a season": _create_a_season,
    "archive a season": _archive_a_season,
    "create a growth task": _create_a_growth_task,
    "create a badge": _create_a_badge,
    "create an event type": _create_an_event_type,
    "change an event type's points": _change_an_event_type_s_points,
    "set a tier's benefits": _set_a_tier_s_benefits,
    "attach a seasonal multiplier": _attach_a_seasonal_multiplier,
}


@pytest.mark.usefixtures("orm")
@pytest.mark.parametrize("change", sorted(MARKETER_CHANGES))
async def test_what_marketers_and_admins_change_moves_the_stamp(change):
    before = await stamp()

    await MARKETER_CHANGES[change]()

    assert await stamp() != before


async def _a_busy_programme() -> Member:
    """A member whose check-in completes a task, earns a badge and a promotion to Silver
    (which grants the tier's benefits) while a season doubles Silver's points."""
    await factories.ladder()
    await factories.task(code="first-visit", reward_growth=1_000)
    await factories.badge(code="starter")
    coupon = await Benefit.create(
        code="coupon", name="Coupon", kind=BenefitKind.COUPON, value=COUPON
    )
    await TierBenefit.create(tier_code="silver", benefit=coupon)
    spring = await Season.create(
        code="spring",
        name="Spring",
        starts_at=factories.now() - timedelta(days=1),
        ends_at=factories.now() + timedelta(days=7),
    )
    double = await Benefit.create(
        code="double", name="Double", kind=BenefitKind.POINTS_MULTIPLIER, value={"factor": 2}
    )
    await SeasonalBenefit.create(season=spring, benefit=double, tier_codes=["silver"])
    return await factories.member()


@pytest.mark.usefixtures("orm")
async def test_recording_events_never_moves_the_stamp():
    member = await _a_busy_programme()
    at = factories.now()
    before = await stamp()

    promoting = await factories.event(member, "check_in", at=at, key="visit-1")
    await factories.event(member, "purchase", amount="120")
    await factories.event(member, "check_in", key="dry", dry_run=True)
    replayed = await factories.event(member, "check_in", at=at, key="visit-1")

    assert promoting.outcome["tierChange"] == {"from": "member", "to": "silver"}
    assert [t["code"] for t in promoting.outcome["tasksCompleted"]] == ["first-visit"]
    assert [b["code"] for b in promoting.outcome["badgesEarned"]] == ["starter"]
    assert replayed.duplicate
    assert await stamp() == before


@pytest.mark.usefixtures("orm")
async def test_reversals_and_the_season_switch_never_move_the_stamp():
    member = await _a_busy_programme()
    await factories.event(member, "purchase", amount="120", key="order-1")
    before = await stamp()

    await reverse_event(
        idempotency_key="order-1",
        amount=Decimal("120"),
        reason="returned",
        reversal_key="return-1",
        allow_debt=False,
        zone=factories.ZONE,
        now=factories.now(),
    )
    await switch_seasons(now=factories.now())
    await switch_seasons(now=factories.now() + timedelta(days=8))  # the season ends

    assert await stamp() == before


@pytest.mark.usefixtures("orm")
async def test_reading_the_stamp_without_its_row_says_what_is_wrong():
    await db.connection().execute_query("DELETE FROM programme_stamp")

    with pytest.raises(StampMissing, match="run the migrations"):
        await stamp()


async def test_migrating_back_drops_the_stamp_and_its_triggers_and_forward_restores_them(
    settings,
):
    config = db.tortoise_config(settings.database_url)
    try:
        await _migrate(config, "laurel.0020_trusted_documents")
        async with db.connect(settings):
            assert await _stamp_objects() == []
            # Raw SQL: the model has columns later migrations add (0026's attribute_schema).
            await db.connection().execute_query(
                "INSERT INTO event_type (code, name, base_points, points_per_unit, "
                "counts_as_spend, counts_as_referral, active) "
                "VALUES ('visit', 'Visit', 0, 0, false, false, true)"
            )  # no trigger left to fail
    finally:
        await _migrate(config, None)
    async with db.connect(settings):
        assert await _stamp_objects() == _expected_objects(settings.database_url)
        before = await stamp()
        await EventType.filter(code="visit").update(name="Visit in store")
        assert await stamp() != before


async def _migrate(config: dict[str, Any], target: str | None) -> None:
    from tortoise.context import TortoiseContext
    from tortoise.migrations.api import migrate

    async with TortoiseContext():
        await migrate(config=config, target=target)


async def _stamp_objects() -> list[str]:
    """The stamp's table, triggers and (PostgreSQL) function, as the catalogue lists them."""
    conn = db.connection()
    if conn.capabilities.dialect == "sqlite":
        rows = await conn.execute_query_dict(
            "SELECT type || ' ' || name AS name FROM sqlite_master "
            "WHERE name LIKE 'programme\\_stamp%' ESCAPE '\\'"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT 'table ' || tablename AS name FROM pg_tables "
            "WHERE tablename = 'programme_stamp' "
            "UNION ALL SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass::text "
            "FROM pg_trigger WHERE tgname = 'programme_stamp_touch' "
            "UNION ALL SELECT 'function ' || proname FROM pg_proc "
            "WHERE proname = 'programme_stamp_touch'"
        )
    return sorted(r["name"] for r in rows)


def _expected_objects(database_url: str) -> list[str]:
    if database_url.startswith("sqlite"):
        triggers = [
            f"trigger programme_stamp_{table}_{op}"
            for table in MIGRATION.CATALOGUE
            for op in ("insert", "update", "delete")
        ]
        return sorted(["table programme_stamp", *triggers])
    triggers = [f"trigger programme_stamp_touch on {table}" for table in MIGRATION.CATALOGUE]
    return sorted(["table programme_stamp", "function programme_stamp_touch", *triggers])


def test_each_test_s_database_starts_under_a_stamp_of_its_own(backend, request, tmp_path):
    """The suite's resets (a copy of the migrated SQLite file, a TRUNCATE of PostgreSQL)
    give every test a new stamp: one a process cached a programme under in an earlier test
    must not come back."""

    async def stamp_of(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval(f"SELECT {STAMP_SQL}"))
        finally:
            await conn.close()

    stamps = []
    for n in range(3):
        if backend == "sqlite":
            path = tmp_path / f"copy-{n}.sqlite3"
            _fresh_sqlite_copy(request.getfixturevalue("sqlite_template"), path)
            with closing(sqlite3.connect(path)) as conn:
                stamps.append(conn.execute(f"SELECT {STAMP_SQL}").fetchone()[0])
        else:
            url = request.getfixturevalue("postgres_database")
            asyncio.run(_truncate_postgres(url))
            stamps.append(asyncio.run(stamp_of(url)))
    assert len(set(stamps)) == 3, stamps
