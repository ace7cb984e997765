"""The migrations build a schema that defends the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from app import db
from app.models import PointsLedgerEntry
from app.services.points.ledger import award_points
from gamification.points.ledger import LedgerKind, LedgerSource
from tests import factories


async def test_migrating_again_is_a_no_op(settings):
    await db.migrate(settings)
    await db.migrate(settings)


@pytest.mark.usefixtures("orm")
async def test_ledger_rows_cannot_be_updated_or_deleted():
    member = await factories.member()
    award = await award_points(
        member_id=member.id,
        amount=10,
        reason="Welcome",
        idempotency_key="k",
        max_amount=100,
        now=factories.now(),
    )

    with pytest.raises((IntegrityError, OperationalError), match="append-only"):
        await PointsLedgerEntry.filter(id=award.entry.id).update(delta=1000)
    with pytest.raises((IntegrityError, OperationalError), match="append-only"):
        await PointsLedgerEntry.filter(id=award.entry.id).delete()

    assert (await PointsLedgerEntry.get(id=award.entry.id)).delta == 10


@pytest.mark.usefixtures("orm")
async def test_a_zero_delta_ledger_row_is_refused_by_the_database():
    member = await factories.member()
    with pytest.raises((IntegrityError, OperationalError)):
        await PointsLedgerEntry.create(
            member_id=member.id,
            delta=0,
            kind=LedgerKind.ADJUST,
            reason="nothing",
            source=LedgerSource.MANUAL,
            idempotency_key="zero",
            balance_after=0,
        )


async def test_the_models_need_no_migration_that_is_not_written(settings):
    from tortoise.migrations.autodetector import MigrationAutodetector

    async with db.connect(settings) as ctx:
        config = db.tortoise_config(settings.database_url)
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert [w.name for w in writers] == [], "run `make migrations` and commit the result"


async def test_the_event_catalogue_is_seeded(orm):
    from app.models import EventType

    codes = set(await EventType.all().values_list("code", flat=True))
    assert {"check_in", "purchase", "share", "referral", "review", "profile_completed"} <= codes


@pytest.mark.usefixtures("orm")
async def test_a_benefit_is_granted_at_most_once_per_source():
    from app.models import Benefit, BenefitGrant
    from gamification.benefits import BenefitKind, GrantSource

    member = await factories.member()
    perk = await Benefit.create(code="ship", name="Ship", kind=BenefitKind.FREE_SHIPPING)
    grant = {"member": member, "benefit": perk, "source": GrantSource.SEASON, "source_ref": "7"}
    await BenefitGrant.create(**grant, valid_from=factories.now())

    with pytest.raises(IntegrityError):
        await BenefitGrant.create(**grant, valid_from=factories.now())
