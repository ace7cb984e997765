"""Reading and publishing the tier ladder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.models import LadderVersion, LadderVersionStatus, Tier
from app.services.shared.errors import InvalidInput, ProgrammeNotConfigured
from gamification.tiers.ladder import InvalidLadder, TierRule, validate_ladder


async def ladder_in_force(
    *, now: datetime, using_db: BaseDBAsyncClient | None = None
) -> LadderVersion | None:
    """The published version with the latest effective date that is not in the future."""
    return (
        await LadderVersion.filter(status=LadderVersionStatus.PUBLISHED, effective_at__lte=now)
        .using_db(using_db)
        .order_by("-effective_at", "-number")
        .first()
    )


async def tiers_in_force(*, now: datetime, using_db: BaseDBAsyncClient | None = None) -> list[Tier]:
    """The tiers of the ladder in force, lowest rank first (empty before any is published)."""
    version = await ladder_in_force(now=now, using_db=using_db)
    if version is None:
        return []
    return await Tier.filter(ladder_version_id=version.id).using_db(using_db).order_by("rank")


async def base_tier(*, now: datetime, using_db: BaseDBAsyncClient | None = None) -> Tier:
    """The tier every new member starts on."""
    tiers = await tiers_in_force(now=now, using_db=using_db)
    if not tiers:
        raise ProgrammeNotConfigured()
    return tiers[0]


async def publish_ladder(
    *,
    tiers: Sequence[TierRule],
    effective_at: datetime,
    now: datetime,
    notes: str = "",
    using_db: BaseDBAsyncClient | None = None,
) -> LadderVersion:
    """Store a validated ladder as the next published version, in force from ``effective_at``.

    Used by the demo loader; the admin workflow (drafts, notice period, announcements)
    builds on it. Runs in the caller's transaction when given one.
    """
    try:
        ordered = validate_ladder(tiers)
    except InvalidLadder as exc:
        raise InvalidInput.single("tiers", str(exc)) from exc
    if using_db is None:
        async with in_transaction() as conn:
            return await publish_ladder(
                tiers=ordered, effective_at=effective_at, now=now, notes=notes, using_db=conn
            )
    last = await LadderVersion.all().using_db(using_db).order_by("-number").first()
    version = await LadderVersion.create(
        number=(last.number + 1) if last else 1,
        status=LadderVersionStatus.PUBLISHED,
        effective_at=effective_at,
        published_at=now,
        notes=notes,
        using_db=using_db,
    )
    await store_tiers(version_id=version.id, rules=ordered, using_db=using_db)
    return version


async def store_tiers(
    *, version_id: int, rules: Sequence[TierRule], using_db: BaseDBAsyncClient
) -> None:
    """Write a validated ladder's tiers under a version, in one statement."""
    await Tier.bulk_create(
        [
            Tier(
                ladder_version_id=version_id,
                code=rule.code,
                name=rule.name,
                rank=rule.rank,
                entry_threshold=rule.entry_threshold,
                retention_threshold=rule.retention_threshold,
                multiplier=rule.multiplier,
                requirements=[[key, minimum] for key, minimum in rule.requirements],
                benefits=list(rule.benefits),
            )
            for rule in rules
        ],
        using_db=using_db,
    )
