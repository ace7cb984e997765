"""Threshold calibration (marketers, admins) and the what-if of a draft ladder (admins, who
alone read drafts)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.shared.context import Context
from app.api.shared.errors import UserInputError
from app.api.shared.ids import encode_id, require_id
from app.api.shared.permissions import CATALOGUE_EDITORS, roles
from app.auth import Role
from app.services.shared.errors import InvalidInput, NotFound, ProgrammeNotConfigured
from app.services.tiers import calibration
from app.services.tiers import simulation as ladder_simulation
from gamification.tiers import simulation as rules


@strawberry.type(description="An entry threshold for one tier, from a target share.")
class ThresholdSuggestion:
    tier_code: str = strawberry.field(description="The tier of the ladder in force it is for.")
    target_share: float = strawberry.field(description="The share asked for, between 0 and 1.")
    threshold: int = strawberry.field(
        description="The smallest growth at which at most targetShare of the active members "
        "qualify (growth at or above it); one growth point lower, more would. At least 1."
    )
    members: int = strawberry.field(description="Active members who qualify at threshold.")
    share: float = strawberry.field(description="members / activeMembers.")
    friendly_threshold: int = strawberry.field(
        description="threshold rounded to a multiple of the largest 1, 2 or 5 x 10^k step "
        "that is at most a tenth of it (halves up; below 20 unchanged): one or two "
        "significant digits, at most 5% away."
    )
    friendly_members: int = strawberry.field(
        description="Active members who qualify at friendlyThreshold."
    )
    friendly_share: float = strawberry.field(
        description="friendlyMembers / activeMembers: may be above targetShare."
    )


@strawberry.type(description="Suggested entry thresholds from today's growth distribution.")
class ThresholdCalibration:
    active_members: int = strawberry.field(
        description="Members with an active day (a local day with an event) among the last "
        "activeWithinDays local days, today included."
    )
    active_within_days: int = strawberry.field(description="The activeWithinDays asked for.")
    suggestions: list[ThresholdSuggestion] = strawberry.field(
        description="One per target share, lowest tier above the base first; empty when no "
        "member is active. Equal thresholds mean the distribution cannot tell the shares "
        "apart."
    )


@strawberry.type(description="Members holding one tier now, and how the draft moves them.")
class LadderMovement:
    rank: int = strawberry.field(description="The tier's rank, 0 for the base tier.")
    code: str = strawberry.field(description="The tier's code.")
    name: str = strawberry.field(description="The tier's display name.")
    members: int = strawberry.field(description="Members holding it now.")
    promoted: int = strawberry.field(description="Would hold a higher rank.")
    demoted: int = strawberry.field(description="Would hold a lower rank.")
    unchanged: int = strawberry.field(description="Would keep the rank (the code may change).")

    @classmethod
    def from_rule(cls, m: rules.Movement) -> LadderMovement:
        return cls(
            rank=m.held.rank,
            code=m.held.code,
            name=m.held.name,
            members=m.members,
            promoted=m.promoted,
            demoted=m.demoted,
            unchanged=m.unchanged,
        )


@strawberry.type(description="Members who would hold one tier of the draft.")
class DraftTierCount:
    rank: int = strawberry.field(description="The draft tier's rank.")
    code: str = strawberry.field(description="The draft tier's code.")
    name: str = strawberry.field(description="The draft tier's display name.")
    members: int = strawberry.field(description="Members who would hold it.")


@strawberry.type(description="A benefit of the tier x benefit matrix members would gain or lose.")
class BenefitGrantChange:
    benefit_code: str = strawberry.field(description="The benefit's code.")
    benefit_name: str = strawberry.field(description="The benefit's display name.")
    added: int = strawberry.field(description="Members whose new tier code gives it and old not.")
    removed: int = strawberry.field(description="Members whose old tier code gave it and new not.")


@strawberry.type(description="Where members would stand under the draft at one moment.")
class LadderOutcome:
    movements: list[LadderMovement] = strawberry.field(
        description="Per tier held now, lowest first (a tier of an older version is listed "
        "as itself)."
    )
    distribution: list[DraftTierCount] = strawberry.field(
        description="Members per tier of the draft."
    )
    benefit_changes: list[BenefitGrantChange] = strawberry.field(
        description="Live benefits of the tier matrix gained or lost by tier code, by code; "
        "seasonal and birthday benefits are not included."
    )

    @classmethod
    def from_rule(cls, o: rules.Outcome, names: dict[str, str]) -> LadderOutcome:
        return cls(
            movements=[LadderMovement.from_rule(m) for m in o.movements],
            distribution=[
                DraftTierCount(rank=d.rank, code=d.code, name=d.name, members=d.members)
                for d in o.distribution
            ],
            benefit_changes=[
                BenefitGrantChange(
                    benefit_code=c.benefit,
                    benefit_name=names[c.benefit],
                    added=c.added,
                    removed=c.removed,
                )
                for c in o.benefit_changes
            ],
        )


@strawberry.type(description="What a draft ladder version would do, computed without writing.")
class LadderSimulation:
    draft_version_id: strawberry.ID = strawberry.field(description="The LadderVersion simulated.")
    members: int = strawberry.field(description="Members simulated: every member.")
    at_switch: LadderOutcome = strawberry.field(
        description="When the version takes effect: every member moves to the tier of the "
        "same rank (the highest rank of the draft if it has fewer tiers), exactly as the "
        "ladder switch does; thresholds play no part yet."
    )
    settled: LadderOutcome = strawberry.field(
        description="Then the draft's rules on today's growth and facts: promoted to the "
        "highest tier whose entry threshold and requirements are met (at the member's next "
        "event), else one tier down when growth is below the retention threshold of the tier "
        "held (at the next evaluation), else unchanged."
    )


@strawberry.type
class CalibrationQueries:
    @strawberry.field(
        description="Entry thresholds that the given shares of active members would reach, "
        "from today's growth distribution, one share per tier above the base tier of the "
        "ladder in force (strictly decreasing, each strictly between 0 and 1) (marketers, "
        "admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def suggest_thresholds(
        self,
        info: Info[Context, None],
        target_shares: Annotated[
            list[float],
            strawberry.argument(
                description="One share of active members per tier above the base, lowest "
                "tier first: strictly decreasing, each strictly between 0 and 1 (e.g. 0.35)."
            ),
        ],
        active_within_days: Annotated[
            int,
            strawberry.argument(
                description="Local days back, today included, that make a member active: 1 to 731."
            ),
        ] = calibration.DEFAULT_ACTIVE_WITHIN_DAYS,
    ) -> ThresholdCalibration:
        try:
            found = await calibration.suggest_thresholds(
                shares=target_shares,
                now=info.context.now,
                zone=info.context.settings.zone,
                active_within_days=active_within_days,
            )
        except InvalidInput as exc:
            problem = exc.problems[0]
            raise UserInputError(
                f"{problem.field}: {problem.message}", field=problem.field
            ) from None
        except ProgrammeNotConfigured as exc:
            raise UserInputError(str(exc)) from None
        tiers = await info.context.programme.ladder_tiers()
        return ThresholdCalibration(
            active_members=found.active_members,
            active_within_days=active_within_days,
            suggestions=[
                ThresholdSuggestion(
                    tier_code=tier.code,
                    target_share=s.target_share,
                    threshold=s.threshold,
                    members=s.members,
                    share=s.share,
                    friendly_threshold=s.friendly_threshold,
                    friendly_members=s.friendly_members,
                    friendly_share=s.friendly_share,
                )
                for tier, s in zip(tiers[1:], found.suggestions, strict=False)
            ],
        )

    @strawberry.field(
        description="For a draft ladder version: promotions, demotions and benefit changes "
        "per tier, at the switch and settled; nothing is written (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    async def simulate_ladder(
        self,
        info: Info[Context, None],
        draft_version_id: Annotated[
            strawberry.ID, strawberry.argument(description="A draft LadderVersion id.")
        ],
    ) -> LadderSimulation:
        pk = require_id(draft_version_id, kind="LadderVersion", argument="draftVersionId")
        try:
            report = await ladder_simulation.simulate_ladder(version_id=pk)
        except InvalidInput as exc:
            raise UserInputError(exc.problems[0].message, field="draftVersionId") from None
        except NotFound:
            raise UserInputError("no such ladder version", field="draftVersionId") from None
        s, names = report.simulation, report.benefit_names
        return LadderSimulation(
            draft_version_id=strawberry.ID(encode_id("LadderVersion", report.version.id)),
            members=s.members,
            at_switch=LadderOutcome.from_rule(s.at_switch, names),
            settled=LadderOutcome.from_rule(s.settled, names),
        )
