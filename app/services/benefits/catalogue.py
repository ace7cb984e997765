"""The benefits catalogue (validated, audited), and the tier and season matrices that say
who gets which benefit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import (
    Benefit,
    Season,
    SeasonalBenefit,
    Tier,
    TierBenefit,
)
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import archive_entry, create_entry
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from app.services.tiers.ladder import tiers_in_force
from gamification.benefits import (
    BenefitKind,
    check_benefit,
)
from gamification.shared.problems import Problem

BENEFIT_FIELDS = ("code", "name", "description", "kind", "value", "archived_at")
SEASONAL_FIELDS = ("season_id", "benefit_id", "tier_codes")


@dataclass(frozen=True, slots=True)
class BenefitDefinition:
    code: str
    name: str
    kind: BenefitKind
    value: dict[str, Any]
    description: str = ""


def _checked(fields: dict[str, Any]) -> None:
    problems = check_benefit(
        code=fields["code"],
        name=fields["name"],
        description=fields["description"],
        kind=fields["kind"],
        value=fields["value"],
    )
    if problems:
        raise InvalidInput(problems)


async def create_benefit(*, definition: BenefitDefinition, actor: Actor, now: datetime) -> Benefit:
    fields = {name: getattr(definition, name) for name in BenefitDefinition.__slots__}
    _checked(fields)
    fields["name"] = definition.name.strip()
    taken = InvalidInput.single("code", f"{definition.code!r} is already used")
    return await create_entry(
        Benefit, fields, "benefit.create", BENEFIT_FIELDS, actor=actor, now=now, taken=taken
    )


async def update_benefit(
    *, benefit_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Benefit:
    """Change some fields of a benefit (any of BenefitDefinition's); the merged benefit is
    checked whole, so a new kind must come with a value of that kind."""
    update = PartialUpdate(changes, changeable=BenefitDefinition.__slots__).stripped("name")
    async with in_transaction() as conn:
        benefit = await get_locked_or_not_found(Benefit, benefit_id, conn=conn)
        if benefit.archived_at is not None:
            raise InvalidInput.single("id", "an archived benefit cannot be changed")
        _checked(update.merged(benefit, BenefitDefinition.__slots__))
        async with audited(
            conn,
            actor=actor,
            action="benefit.update",
            subject=benefit,
            fields=BENEFIT_FIELDS,
            now=now,
        ):
            if written := update.apply(benefit):
                try:
                    await benefit.save(using_db=conn, update_fields=written)
                except IntegrityError:
                    raise InvalidInput.single(
                        "code", "is already used by another benefit"
                    ) from None
    return benefit


async def archive_benefit(*, benefit_id: int, actor: Actor, now: datetime) -> Benefit:
    """Withdraw a benefit for good (idempotent): no new grants; grants held stay."""
    return await archive_entry(
        Benefit, benefit_id, "benefit.archive", BENEFIT_FIELDS, actor=actor, now=now
    )


async def benefits_page(
    *, first: int, after_id: int | None, include_archived: bool = False
) -> tuple[list[Benefit], bool]:
    """Benefits in catalogue order after ``after_id``; the flag says whether more follow."""
    query = Benefit.all().order_by("id")
    if not include_archived:
        query = query.filter(archived_at__isnull=True)
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first


async def _unknown_tier_codes(codes: Sequence[str]) -> list[str]:
    """The codes no tier of any ladder version has (drafts count: a matrix may be set up
    before the ladder that introduces the tier is in force)."""
    # Tortoise types flat values_list results as tuples.
    query = Tier.filter(code__in=list(codes)).values_list("code", flat=True)
    known: set[str] = set(await query)  # type: ignore[arg-type]
    return [c for c in codes if c not in known]


async def _live_benefits(codes: Sequence[str], *, field: str) -> list[Benefit]:
    rows = await Benefit.filter(code__in=list(codes), archived_at__isnull=True)
    found = {b.code for b in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput.single(field, f"no benefit (or an archived one): {', '.join(missing)}")
    return rows


class TierBenefits(NamedTuple):
    tier_code: str
    benefits: list[Benefit]


async def set_tier_benefits(
    *, tier_code: str, benefit_codes: Sequence[str], actor: Actor, now: datetime
) -> TierBenefits:
    """Make ``benefit_codes`` the whole set of benefits of a tier (an empty list clears it).

    Only the difference is written, and the unique (tier, benefit) makes a concurrent
    identical change harmless. Members hold what they were granted before; granting the
    new set is the promotion and season jobs' work.
    """
    codes = list(dict.fromkeys(benefit_codes))
    if await _unknown_tier_codes([tier_code]):
        raise InvalidInput.single("tierCode", f"no tier has the code {tier_code!r}")
    wanted = {b.id: b for b in await _live_benefits(codes, field="benefitCodes")}
    async with (
        in_transaction() as conn,
        audited(
            conn,
            actor=actor,
            action="tier_benefits.set",
            target_type="TierBenefits",
            target_id=tier_code,
            now=now,
        ) as change,
    ):
        rows = (
            await TierBenefit.filter(tier_code=tier_code).using_db(conn).select_related("benefit")
        )
        change.before = {"benefits": sorted(r.benefit.code for r in rows)}
        stale = [r.id for r in rows if r.benefit_id not in wanted]
        if stale:
            await TierBenefit.filter(id__in=stale).using_db(conn).delete()
        held = {r.benefit_id for r in rows}
        await TierBenefit.bulk_create(
            [TierBenefit(tier_code=tier_code, benefit_id=i) for i in wanted if i not in held],
            ignore_conflicts=True,
            using_db=conn,
        )
        change.after = {"benefits": sorted(b.code for b in wanted.values())}
    return TierBenefits(tier_code, sorted(wanted.values(), key=lambda b: b.id))


async def tier_benefits(*, now: datetime) -> list[TierBenefits]:
    """The matrix: each tier of the ladder in force (lowest first, empty ones too), then any
    other tier code that has benefits (of a past or future ladder), by code."""
    rows = await TierBenefit.all().select_related("benefit").order_by("tier_code", "benefit_id")
    by_code: dict[str, list[Benefit]] = {}
    for row in rows:
        by_code.setdefault(row.tier_code, []).append(row.benefit)
    ladder = [t.code for t in await tiers_in_force(now=now)]
    others = sorted(set(by_code) - set(ladder))
    return [TierBenefits(code, by_code.get(code, [])) for code in ladder + others]


async def attach_seasonal_benefit(
    *, season_id: int, benefit_id: int, tier_codes: Sequence[str], actor: Actor, now: datetime
) -> SeasonalBenefit:
    """Give the members of ``tier_codes`` a benefit while a season runs (once per season)."""
    codes = list(dict.fromkeys(tier_codes))
    season = await get_or_not_found(Season, season_id)
    benefit = await get_or_not_found(Benefit, benefit_id)
    problems = []
    if season.archived_at is not None:
        problems.append(Problem("seasonId", "the season is archived"))
    if benefit.archived_at is not None:
        problems.append(Problem("benefitId", "the benefit is archived"))
    if not codes:
        problems.append(Problem("tierCodes", "must name at least one tier"))
    elif unknown := await _unknown_tier_codes(codes):
        problems.append(Problem("tierCodes", f"no tier has the code: {', '.join(unknown)}"))
    if problems:
        raise InvalidInput(problems)
    taken = InvalidInput.single("benefitId", "is already attached to this season (detach it first)")
    row = await create_entry(
        SeasonalBenefit,
        {"season_id": season_id, "benefit_id": benefit_id, "tier_codes": codes},
        "seasonal_benefit.attach",
        SEASONAL_FIELDS,
        actor=actor,
        now=now,
        taken=taken,
    )
    row.benefit = benefit
    return row


async def detach_seasonal_benefit(
    *, season_id: int, benefit_id: int, actor: Actor, now: datetime
) -> SeasonalBenefit:
    """Stop a season giving a benefit; grants already made stay with their members."""
    async with in_transaction() as conn:
        row = await get_locked_or_not_found(
            SeasonalBenefit,
            f"{season_id}/{benefit_id}",
            conn=conn,
            season_id=season_id,
            benefit_id=benefit_id,
        )
        # Not joined above: PostgreSQL cannot lock the nullable side of the outer join.
        await row.fetch_related("benefit", using_db=conn)
        async with audited(
            conn,
            actor=actor,
            action="seasonal_benefit.detach",
            subject=row,
            fields=SEASONAL_FIELDS,
            now=now,
        ) as change:
            await SeasonalBenefit.filter(id=row.id).using_db(conn).delete()
            change.removed()
    return row


async def seasonal_benefits(*, season_id: int) -> list[SeasonalBenefit]:
    return (
        await SeasonalBenefit.filter(season_id=season_id)
        .select_related("benefit")
        .order_by("benefit_id")
    )


async def seasonal_points_multiplier(
    conn: BaseDBAsyncClient, *, tier_code: str, season_ids: Sequence[int]
) -> Decimal:
    """The largest factor of the points multipliers the running seasons ``season_ids``
    give ``tier_code`` (1 when none does; no statement when no season runs). Seasons do
    not stack, the best one applies."""
    if not season_ids:
        return Decimal(1)
    rows = (
        await SeasonalBenefit.filter(
            season_id__in=list(season_ids),
            benefit__kind=BenefitKind.POINTS_MULTIPLIER,
            benefit__archived_at__isnull=True,
        )
        .using_db(conn)
        .values_list("tier_codes", "benefit__value")
    )
    factors = [Decimal(str(value["factor"])) for codes, value in rows if tier_code in codes]
    return max(factors, default=Decimal(1))
