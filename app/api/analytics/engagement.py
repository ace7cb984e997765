"""Engagement analytics for marketers and admins: task funnels and seasonal benefit uptake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.ids import encode_id, require_id
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.services.analytics import engagement


@strawberry.type(
    description="One growth task's funnel over its schedule within its season, cut at now."
)
class TaskFunnel:
    task_id: strawberry.ID = strawberry.field(description="The GrowthTask id.")
    code: str = strawberry.field(description="The task's code.")
    name: str = strawberry.field(description="The task's display name.")
    season_id: strawberry.ID | None = strawberry.field(description="The task's Season; null: none.")
    starts_at: datetime | None = strawberry.field(
        description="Start of the task's schedule within its season (null: always open)."
    )
    ends_at: datetime = strawberry.field(
        description="End of the schedule within its season, or now if it ends later."
    )
    eligible: int = strawberry.field(
        description="Members who held a tier of the task's audience at some moment in "
        "[startsAt, endsAt), by the tier history (their tier at the start, or one a tier "
        "change during it took them to). Members who progressed without being in the "
        "audience then (an audience narrowed later, a late event) count as started, not "
        "eligible, so started can exceed eligible only in those cases."
    )
    started: int = strawberry.field(
        description="Members with progress counted on the task or at least one completion."
    )
    completed: int = strawberry.field(description="Members with at least one completion.")
    completions: int = strawberry.field(description="Completions by all members.")

    @classmethod
    def from_row(cls, row: engagement.TaskFunnel) -> TaskFunnel:
        return cls(
            task_id=strawberry.ID(encode_id("GrowthTask", row.task_id)),
            code=row.code,
            name=row.name,
            season_id=(
                strawberry.ID(encode_id("Season", row.season_id))
                if row.season_id is not None
                else None
            ),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            eligible=row.eligible,
            started=row.started,
            completed=row.completed,
            completions=row.completions,
        )


@strawberry.type(description="Seasonal grants of one benefit in one season, for one tier.")
class SeasonalBenefitUptake:
    season_id: strawberry.ID = strawberry.field(description="The Season id.")
    season_code: str = strawberry.field(description="The season's code.")
    benefit_id: strawberry.ID = strawberry.field(description="The Benefit id.")
    benefit_code: str = strawberry.field(description="The benefit's code.")
    tier_code: str | None = strawberry.field(
        description="The tier the grants were made for: the member's tier when the season "
        "switched on, or the tier a promotion during the season brought them to."
    )
    granted: int = strawberry.field(description="Seasonal grants of the benefit.")
    used: int = strawberry.field(description="Grants used (useBenefit).")
    expired: int = strawberry.field(
        description="Expired by the season job, or still marked active past their validity."
    )
    active: int = strawberry.field(description="Not used and still valid now.")

    @classmethod
    def from_row(cls, row: engagement.BenefitUptake) -> SeasonalBenefitUptake:
        return cls(
            season_id=strawberry.ID(encode_id("Season", row.season_id)),
            season_code=row.season_code,
            benefit_id=strawberry.ID(encode_id("Benefit", row.benefit_id)),
            benefit_code=row.benefit_code,
            tier_code=row.tier_code,
            granted=row.granted,
            used=row.used,
            expired=row.expired,
            active=row.active,
        )


@strawberry.type
class EngagementQueries:
    @strawberry.field(
        description="Per growth task (of a season, or one task; every task without either), "
        "in task order: members eligible, who started and who completed it (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def task_funnel(
        self,
        info: Info[Context, None],
        season_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this Season's tasks; null: no such filter."),
        ] = None,
        task_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this GrowthTask; null: no such filter."),
        ] = None,
    ) -> list[TaskFunnel]:
        rows = await engagement.task_funnel(
            now=info.context.now,
            season_id=require_id(season_id, kind="Season", argument="seasonId")
            if season_id is not None
            else None,
            task_id=require_id(task_id, kind="GrowthTask", argument="taskId")
            if task_id is not None
            else None,
        )
        return [TaskFunnel.from_row(r) for r in rows]

    @strawberry.field(
        description="Seasonal benefit grants per season (or one season), benefit and tier: "
        "granted, used, expired and still active (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def seasonal_benefit_uptake(
        self,
        info: Info[Context, None],
        season_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this Season; null: every season."),
        ] = None,
    ) -> list[SeasonalBenefitUptake]:
        rows = await engagement.seasonal_benefit_uptake(
            now=info.context.now,
            season_id=require_id(season_id, kind="Season", argument="seasonId")
            if season_id is not None
            else None,
        )
        return [SeasonalBenefitUptake.from_row(r) for r in rows]
