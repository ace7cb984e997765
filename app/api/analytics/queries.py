"""Programme analytics for marketers and admins (set-based SQL, programme time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import UserInputError
from app.api.shared.ids import decode_cursor, encode_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.services.analytics import reports as analytics
from gamification.analytics import Granularity as GranularityEnum
from gamification.analytics import buckets

Granularity = described_enum(
    GranularityEnum,
    name="Granularity",
    description="The period a report groups by, in the programme's time zone.",
    values={
        "DAY": "Local days, named like 2026-11-25.",
        "WEEK": "ISO weeks from Monday, named like 2026-W48.",
        "MONTH": "Calendar months, named like 2026-11.",
    },
)
# The span arguments of the reports, described once.
FROM = "Start of the span (inclusive), ISO 8601 with an offset."
TO = (
    "End of the span (exclusive), with an offset, after from; at most 400 periods of the "
    "granularity."
)
GRANULARITY = "The period to group by."


@strawberry.type(description="Members holding one tier.")
class TierCount:
    rank: int = strawberry.field(description="The tier's rank, 0 for the base tier.")
    code: str = strawberry.field(description="The tier's code.")
    name: str = strawberry.field(description="The tier's display name.")
    members: int = strawberry.field(description="Members holding it at the moment asked.")


@strawberry.type(description="Promotions and demotions in one period.")
class TierMovement:
    period: str = strawberry.field(description="2026-11-25, 2026-W48 or 2026-11.")
    promotions: int = strawberry.field(description="Tier changes to a higher rank in the period.")
    demotions: int = strawberry.field(description="Tier changes to a lower rank in the period.")


@strawberry.type(description="Points issued, spent and expired in one period.")
class PointsPeriod:
    period: str = strawberry.field(description="2026-11-25, 2026-W48 or 2026-11.")
    issued: int = strawberry.field(description="Earned and positive adjustments.")
    spent: int = strawberry.field(description="Redeemed.")
    expired: int = strawberry.field(description="Expired unspent.")


@strawberry.type(description="Points flows per period, and what members hold now.")
class PointsFlow:
    periods: list[PointsPeriod] = strawberry.field(
        description="One per period overlapping [from, to), oldest first."
    )
    outstanding_liability: int = strawberry.field(
        description="Points members hold now and may still spend."
    )


@strawberry.type(description="A member whose growth would not keep its tier at an evaluation now.")
class MemberAtRisk:
    member_id: strawberry.ID = strawberry.field(description="The Member id.")
    display_name: str = strawberry.field(description="The member's display name.")
    tier_code: str = strawberry.field(description="The tier held now.")
    growth: int = strawberry.field(description="The member's growth in the evaluation window now.")
    retention_threshold: int = strawberry.field(
        description="Growth needed to keep the tier at an evaluation."
    )
    gap: int = strawberry.field(description="Growth still missing to keep the tier.")


def check_aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise UserInputError(f"{field} must include a time zone offset", field=field)


def check_span(starts_at: datetime | None, ends_at: datetime | None) -> None:
    """The [from, to) arguments of a report: both with an offset, and in order."""
    check_aware(starts_at, "from")
    check_aware(ends_at, "to")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise UserInputError("to must be after from", field="to")


def check_periods(
    granularity: GranularityEnum, starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> None:
    """A report by period: [from, to) as check_span wants it, and not too many periods."""
    check_span(starts_at, ends_at)
    try:
        buckets(granularity, starts_at=starts_at, ends_at=ends_at, zone=zone)
    except ValueError as exc:
        raise UserInputError(str(exc), field="to") from None


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="Members per tier at a moment (default now), from the tier-change "
        "history, named by the ladder in force then (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def tier_distribution(
        self,
        info: Info[Context, None],
        at: Annotated[
            datetime | None,
            strawberry.argument(description="The moment, with an offset; null: now."),
        ] = None,
    ) -> list[TierCount]:
        moment = at or info.context.now
        check_aware(moment, "at")
        rows = await analytics.tier_distribution(at=moment)
        return [TierCount(rank=r.rank, code=r.code, name=r.name, members=r.members) for r in rows]

    @strawberry.field(
        description="Promotions and demotions per local day, week or month in [from, to) "
        "(marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def tier_movements(
        self,
        info: Info[Context, None],
        granularity: Annotated[
            Granularity,  # type: ignore[valid-type]
            strawberry.argument(description=GRANULARITY),
        ],
        from_: Annotated[datetime, strawberry.argument(name="from", description=FROM)],
        to: Annotated[datetime, strawberry.argument(description=TO)],
    ) -> list[TierMovement]:
        check_periods(granularity, from_, to, info.context.settings.zone)
        rows = await analytics.tier_movements(
            granularity=granularity,
            starts_at=from_,
            ends_at=to,
            zone=info.context.settings.zone,
        )
        return [
            TierMovement(period=r.period, promotions=r.promotions, demotions=r.demotions)
            for r in rows
        ]

    @strawberry.field(
        description="Points issued, spent and expired per local day, week or month in "
        "[from, to), and the outstanding liability now (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def points_flow(
        self,
        info: Info[Context, None],
        granularity: Annotated[
            Granularity,  # type: ignore[valid-type]
            strawberry.argument(description=GRANULARITY),
        ],
        from_: Annotated[datetime, strawberry.argument(name="from", description=FROM)],
        to: Annotated[datetime, strawberry.argument(description=TO)],
    ) -> PointsFlow:
        check_periods(granularity, from_, to, info.context.settings.zone)
        rows = await analytics.points_flow(
            granularity=granularity,
            starts_at=from_,
            ends_at=to,
            zone=info.context.settings.zone,
        )
        return PointsFlow(
            periods=[
                PointsPeriod(period=r.period, issued=r.issued, spent=r.spent, expired=r.expired)
                for r in rows
            ],
            outstanding_liability=await analytics.outstanding_liability(),
        )

    @strawberry.field(
        description="Members whose growth would not keep their tier at an evaluation now, "
        "with the growth they miss, in member order (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def members_at_risk(
        self, info: Info[Context, None], first: First = 50, after: After = None
    ) -> Connection[MemberAtRisk]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        after_id = decode_cursor(after)
        rows, has_next = await analytics.members_at_risk(
            now=info.context.now, after_id=after_id, first=first
        )

        async def first_at_risk() -> int | None:
            found, _ = await analytics.members_at_risk(now=info.context.now, after_id=None, first=1)
            return found[0].member_id if found else None

        return Connection[MemberAtRisk].build(
            rows,
            has_next=has_next,
            previous=rows_before(after_id, first_at_risk, descending=False),
            key=lambda r: r.member_id,
            node=lambda r: MemberAtRisk(
                member_id=strawberry.ID(encode_id("Member", r.member_id)),
                display_name=r.display_name,
                tier_code=r.tier_code,
                growth=r.growth,
                retention_threshold=r.retention_threshold,
                gap=r.gap,
            ),
        )
