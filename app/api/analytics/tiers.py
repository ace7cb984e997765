"""Tier dynamics for marketers and admins: promotion and demotion rates, time to promotion,
activity around promotions (definitions in app/services/analytics/tiers.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.analytics.queries import FROM, GRANULARITY, TO, Granularity, check_periods, check_span
from app.api.shared.context import Context
from app.api.shared.errors import UserInputError
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.services.analytics import tiers as tier_analytics

MAX_WINDOW_DAYS = 365
_TIER = "A rank of the ladder, named by the ladder in force now (by the newest version that "
_TIER += "has the rank when the current one lacks it)."
_PROMOTION = (
    "A promotion is a tier change to a higher rank, a demotion one to a lower rank; "
    "enrolments and ladder changes (members moved by a new ladder version) are neither."
)


@strawberry.type(description=f"One tier in one period. {_TIER}")
class TierRate:
    rank: int = strawberry.field(description="The tier's rank, 0 for the base tier.")
    code: str = strawberry.field(description="The tier's code.")
    name: str = strawberry.field(description="The tier's display name.")
    members_at_start: int = strawberry.field(
        description="Members in the tier just before the period starts."
    )
    promotions: int = strawberry.field(
        description="Promotions out of the tier (to any higher rank) during the period."
    )
    demotions: int = strawberry.field(
        description="Demotions out of the tier (to any lower rank) during the period."
    )
    promotion_rate: float | None = strawberry.field(
        description="promotions / membersAtStart; null when the tier had no members at the "
        "start. Members who arrive during the period can move on in it too, so it may "
        "exceed 1."
    )
    demotion_rate: float | None = strawberry.field(
        description="demotions / membersAtStart; null when the tier had no members at the start."
    )


@strawberry.type(description="Every tier's rates in one period.")
class TierRatePeriod:
    period: str = strawberry.field(description="2026-11-25, 2026-W48 or 2026-11.")
    tiers: list[TierRate] = strawberry.field(description="Lowest rank first.")


@strawberry.type(
    description="Promotions into one tier and how long members took to get there. "
    "Days are whole days of 24 hours, rounded down; percentiles are nearest-rank: the "
    "p-th percentile of n promotions is the ceil(p * n / 100)-th shortest (the median is "
    f"p = 50, the lower middle one for an even n); null without promotions. {_TIER}"
)
class TimeToPromotion:
    rank: int = strawberry.field(description="The tier's rank, 0 for the base tier.")
    code: str = strawberry.field(description="The tier's code.")
    name: str = strawberry.field(description="The tier's display name.")
    promotions: int = strawberry.field(description="Promotions into the tier counted.")
    median_days_from_joining: int | None = strawberry.field(
        description="From the member's joining date to the promotion."
    )
    p90_days_from_joining: int | None = strawberry.field(
        description="90th percentile of the days from joining to the promotion."
    )
    median_days_in_previous_tier: int | None = strawberry.field(
        description="From the member's previous tier change (its arrival in the tier it "
        "left, or its enrolment) to the promotion."
    )
    p90_days_in_previous_tier: int | None = strawberry.field(
        description="90th percentile of the days from the previous tier change to the promotion."
    )


@strawberry.type(
    description="Promotions into one tier and the events the promoted members reported "
    "(by when they occurred) in the windowDays x 24 hours before a promotion (the event "
    "that caused it included) and in as long after it. Only promotions whose window after "
    "is over count; those still in it are counted apart. A member promoted twice into the "
    f"tier counts twice. {_TIER}"
)
class PromotionActivity:
    rank: int = strawberry.field(description="The tier's rank, 0 for the base tier.")
    code: str = strawberry.field(description="The tier's code.")
    name: str = strawberry.field(description="The tier's display name.")
    promotions: int = strawberry.field(description="Promotions whose window after is over.")
    still_in_window: int = strawberry.field(
        description="Promotions left out: their window after is not over yet."
    )
    events_before: int = strawberry.field(
        description="Events in the window before the promotions counted, the promoting "
        "event included."
    )
    events_after: int = strawberry.field(
        description="Events in the window after the promotions counted."
    )
    events_before_per_member: float | None = strawberry.field(
        description="eventsBefore / promotions; null without promotions."
    )
    events_after_per_member: float | None = strawberry.field(
        description="eventsAfter / promotions; null without promotions."
    )


@strawberry.type
class TierAnalyticsQueries:
    @strawberry.field(
        description="Per local day, week or month overlapping [from, to) and per tier: "
        "members at the start, promotions and demotions out of the tier, and their rates "
        f"(marketers, admins). {_PROMOTION}",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def tier_rates(
        self,
        info: Info[Context, None],
        granularity: Annotated[
            Granularity,  # type: ignore[valid-type]
            strawberry.argument(description=GRANULARITY),
        ],
        from_: Annotated[datetime, strawberry.argument(name="from", description=FROM)],
        to: Annotated[datetime, strawberry.argument(description=TO)],
    ) -> list[TierRatePeriod]:
        check_periods(granularity, from_, to, info.context.settings.zone)
        rows = await tier_analytics.tier_rates(
            granularity=granularity,
            starts_at=from_,
            ends_at=to,
            zone=info.context.settings.zone,
            now=info.context.now,
        )
        return [
            TierRatePeriod(
                period=p.period,
                tiers=[
                    TierRate(
                        rank=t.rank,
                        code=t.code,
                        name=t.name,
                        members_at_start=t.members_at_start,
                        promotions=t.promotions,
                        demotions=t.demotions,
                        promotion_rate=t.promotion_rate,
                        demotion_rate=t.demotion_rate,
                    )
                    for t in p.tiers
                ],
            )
            for p in rows
        ]

    @strawberry.field(
        description="Per tier above the lowest: promotions into it (only those in [from, to) "
        "when given), with the median and 90th percentile of days from joining and from the "
        f"previous tier change (marketers, admins). {_PROMOTION}",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def time_to_promotion(
        self,
        info: Info[Context, None],
        from_: Annotated[
            datetime | None,
            strawberry.argument(
                name="from",
                description="Only promotions from then (inclusive), with an offset; null: "
                "from the start.",
            ),
        ] = None,
        to: Annotated[
            datetime | None,
            strawberry.argument(
                description="Only promotions before then (exclusive), with an offset, after "
                "from; null: up to now."
            ),
        ] = None,
    ) -> list[TimeToPromotion]:
        check_span(from_, to)
        rows = await tier_analytics.time_to_promotion(
            now=info.context.now, starts_at=from_, ends_at=to
        )
        return [
            TimeToPromotion(
                rank=r.rank,
                code=r.code,
                name=r.name,
                promotions=r.promotions,
                median_days_from_joining=r.median_days_from_joining,
                p90_days_from_joining=r.p90_days_from_joining,
                median_days_in_previous_tier=r.median_days_in_previous_tier,
                p90_days_in_previous_tier=r.p90_days_in_previous_tier,
            )
            for r in rows
        ]

    @strawberry.field(
        description="Per tier above the lowest, for promotions into it in [from, to): events "
        "per promoted member in the windowDays (default 30) before and after the promotion "
        f"(marketers, admins). {_PROMOTION}",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def activity_after_promotion(
        self,
        info: Info[Context, None],
        from_: Annotated[
            datetime,
            strawberry.argument(
                name="from", description="Promotions from then (inclusive), with an offset."
            ),
        ],
        to: Annotated[
            datetime,
            strawberry.argument(
                description="Promotions before then (exclusive), with an offset, after from."
            ),
        ],
        window_days: Annotated[
            int,
            strawberry.argument(
                description="Days of 24 hours on each side of a promotion, 1 to 365."
            ),
        ] = 30,
    ) -> list[PromotionActivity]:
        check_span(from_, to)
        if not 1 <= window_days <= MAX_WINDOW_DAYS:
            raise UserInputError(
                f"windowDays must be between 1 and {MAX_WINDOW_DAYS}", field="windowDays"
            )
        rows = await tier_analytics.activity_after_promotion(
            starts_at=from_, ends_at=to, now=info.context.now, days=window_days
        )
        return [
            PromotionActivity(
                rank=r.rank,
                code=r.code,
                name=r.name,
                promotions=r.promotions,
                still_in_window=r.still_in_window,
                events_before=r.events_before,
                events_after=r.events_after,
                events_before_per_member=r.events_before_per_member,
                events_after_per_member=r.events_after_per_member,
            )
            for r in rows
        ]
