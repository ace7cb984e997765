"""GraphQL types of earning rules: their versions, effects, budgets, and what they did."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.api.tasks.types import TaskWindow
from app.models import EarningRuleVersion
from app.services.rules.catalogue import RuleBudgetUse as BudgetUse
from app.services.rules.catalogue import RuleView
from gamification.rules.engine import Effect, GroupPick, SkipReason
from gamification.shared.calendar import Window

RuleGroupPick = described_enum(
    GroupPick,
    name="RuleGroupPick",
    description="Which rule of an exclusive group applies when several of them match one event.",
    values={
        "BEST": "The one awarding the most points (the higher priority wins a tie).",
        "FIRST": "The one of highest priority (then the oldest rule).",
    },
)
RuleSkipReason = described_enum(
    SkipReason,
    name="RuleSkipReason",
    description="Why an earning rule of the event's type gave nothing.",
    values={
        "NOT_RUNNING": "The event falls before the rule's startsAt or from its endsAt on.",
        "CONDITION_NOT_MET": "The event or the member did not meet the rule's condition.",
        "NOTHING_EARNED": "The condition held, but the effect is worth nothing for this event.",
        "EXCLUDED_BY_GROUP": "Another rule of its exclusive group applied instead.",
        "MEMBER_CAP_REACHED": "The member has had all the rule gives one member in the period.",
        "BUDGET_EXHAUSTED": "The offer's campaign budget is spent.",
    },
)


@strawberry.type(description="What a rule awards; its parts add up.")
class EarningEffect:
    points: int = strawberry.field(description="Fixed points.")
    per_unit_of: str | None = strawberry.field(
        description="amount, or a number, money or line items attribute (the items' price x "
        "quantity summed) that perUnitRate points are given per unit of; null: none."
    )
    per_unit_rate: Decimal = strawberry.field(description="Points per unit of perUnitOf.")
    multiplier: Decimal | None = strawberry.field(
        description="The event's own points (after tier and season multipliers) times this: "
        "the rule gives the extra part (2: as many points again); null: none."
    )
    growth: int = strawberry.field(description="Growth (tier score) given.")

    @classmethod
    def from_effect(cls, effect: Effect) -> EarningEffect:
        return cls(
            points=effect.points,
            per_unit_of=effect.per_unit_of,
            per_unit_rate=effect.per_unit_rate,
            multiplier=effect.multiplier,
            growth=effect.growth,
        )


@strawberry.type(description="The caps of a rule (null: no cap).")
class RuleBudgetCaps:
    campaign_points: int | None = strawberry.field(
        description="Points the rule may give in all, every member together."
    )
    campaign_awards: int | None = strawberry.field(
        description="Awards the rule may make in all, every member together."
    )
    member_points: int | None = strawberry.field(
        description="Points one member may get from it per memberPeriod."
    )
    member_awards: int | None = strawberry.field(
        description="Awards one member may get from it per memberPeriod."
    )
    member_period: TaskWindow = strawberry.field(  # type: ignore[valid-type]
        description="The period member caps count in (local days, ISO weeks, months)."
    )


@strawberry.type(
    name="RuleBudgetUse", description="What a rule has given, and how fast its budget goes."
)
class RuleBudgetUseType:
    points_given: int = strawberry.field(description="Points awarded in all.")
    awards_given: int = strawberry.field(description="Awards made in all.")
    points_left: int | None = strawberry.field(
        description="Points the campaign budget has left (null: no points cap)."
    )
    awards_left: int | None = strawberry.field(
        description="Awards the campaign budget has left (null: no awards cap)."
    )
    points_per_day: Decimal = strawberry.field(
        description="Burn rate: points given per day since the first award (the first hour "
        "counts as one)."
    )
    first_award_at: datetime | None = strawberry.field(
        description="When the rule first awarded anything; null: never."
    )

    @classmethod
    def from_use(cls, use: BudgetUse) -> RuleBudgetUseType:
        return cls(
            points_given=use.points,
            awards_given=use.awards,
            points_left=use.points_left,
            awards_left=use.awards_left,
            points_per_day=use.points_per_day,
            first_award_at=use.first_at,
        )


@strawberry.type(
    name="EarningRuleVersion",
    description="One version of an earning rule; an edit is a new version.",
)
class EarningRuleVersionType:
    number: int = strawberry.field(description="1 for the first, then one more per edit.")
    event_type: str = strawberry.field(description="The event type code the rule earns on.")
    condition: JSON | None = strawberry.field(
        description="The condition tree (see docs/api/rules.md); null: every event."
    )
    effect: EarningEffect = strawberry.field(description="What it awards.")
    priority: int = strawberry.field(description="Higher first, -1000 to 1000.")
    exclusive_group: str | None = strawberry.field(
        description="Only one rule of a group applies to an event; null: it stacks."
    )
    group_pick: RuleGroupPick = strawberry.field(  # type: ignore[valid-type]
        description="How its group picks (the group's first rule in priority order decides)."
    )
    starts_at: datetime | None = strawberry.field(description="Events from then on; null: any.")
    ends_at: datetime | None = strawberry.field(description="Events before then; null: any.")
    budget: RuleBudgetCaps = strawberry.field(description="Its caps.")
    effective_from: datetime = strawberry.field(
        description="When this version replaces the one before (later than now: scheduled)."
    )
    created_at: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def from_model(cls, v: EarningRuleVersion) -> EarningRuleVersionType:
        return cls(
            number=v.number,
            event_type=v.event_type,
            condition=cast(JSON, v.condition),
            effect=EarningEffect.from_effect(v.effect_value()),
            priority=v.priority,
            exclusive_group=v.exclusive_group,
            group_pick=v.group_pick,
            starts_at=v.starts_at,
            ends_at=v.ends_at,
            budget=RuleBudgetCaps(
                campaign_points=v.campaign_points_cap,
                campaign_awards=v.campaign_awards_cap,
                member_points=v.member_points_cap,
                member_awards=v.member_awards_cap,
                member_period=v.member_cap_period,
            ),
            effective_from=v.effective_from,
            created_at=v.created_at,
        )


@strawberry.type(name="EarningRule", description="An earning rule a marketer wrote.")
class EarningRuleType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the rule.")
    code: str = strawberry.field(description="Stable code, named in event results.")
    name: str = strawberry.field(description="Display name, shown to members.")
    archived_at: datetime | None = strawberry.field(description="When it was stopped for good.")
    in_force: EarningRuleVersionType | None = strawberry.field(
        description="The version in force now; null when its first is still scheduled."
    )
    versions: list[EarningRuleVersionType] = strawberry.field(
        description="Every version, latest first (scheduled ones included)."
    )
    budget_use: RuleBudgetUseType = strawberry.field(
        description="What it has given, what its campaign budget has left, its burn rate."
    )

    @classmethod
    def from_view(cls, view: RuleView) -> EarningRuleType:
        return cls(
            id=strawberry.ID(encode_id("EarningRule", view.rule.id)),
            code=view.rule.code,
            name=view.rule.name,
            archived_at=view.rule.archived_at,
            in_force=EarningRuleVersionType.from_model(view.in_force) if view.in_force else None,
            versions=[EarningRuleVersionType.from_model(v) for v in view.versions],
            budget_use=RuleBudgetUseType.from_use(view.use),
        )


@strawberry.input(description="What a rule awards; give at least one part.")
class EarningEffectInput:
    points: int = strawberry.field(default=0, description="Fixed points, 0 to 1,000,000.")
    per_unit_of: str | None = strawberry.field(
        default=None,
        description="amount, or a number, money or line items attribute of the event type.",
    )
    per_unit_rate: Decimal = strawberry.field(
        default=Decimal(0),
        description="Points per unit of perUnitOf, above 0 to 1000; the rule's points are "
        "rounded down.",
    )
    multiplier: Decimal | None = strawberry.field(
        default=None,
        description="Above 1 to 10: the event's own points times this (the rule gives the "
        "extra part).",
    )
    growth: int = strawberry.field(default=0, description="Growth, 0 to 1,000,000.")

    def to_effect(self) -> Effect:
        return Effect(
            points=self.points,
            per_unit_of=self.per_unit_of,
            per_unit_rate=self.per_unit_rate,
            multiplier=self.multiplier,
            growth=self.growth,
        )


@strawberry.input(description="Caps of a rule; leave out those it has not.")
class RuleBudgetInput:
    campaign_points: int | None = strawberry.field(
        default=None, description="Points in all, every member together (at least 1)."
    )
    campaign_awards: int | None = strawberry.field(
        default=None, description="Awards in all, every member together (at least 1)."
    )
    member_points: int | None = strawberry.field(
        default=None, description="Points per member per memberPeriod (at least 1)."
    )
    member_awards: int | None = strawberry.field(
        default=None, description="Awards per member per memberPeriod (at least 1)."
    )
    member_period: TaskWindow = strawberry.field(  # type: ignore[valid-type]
        default=Window.LIFETIME,
        description="DAY, WEEK, MONTH or LIFETIME (SEASON is refused).",
    )


@strawberry.input(description="A new earning rule; its version 1.")
class CreateEarningRuleInput:
    code: str = strawberry.field(
        description="Stable code: 2-64 lowercase letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    event_type: str = strawberry.field(description="The event type code it earns on.")
    condition: JSON | None = strawberry.field(
        default=None,
        description="A condition tree (docs/api/rules.md), checked against the event type's "
        "attributes; null: every event of the type.",
    )
    effect: EarningEffectInput = strawberry.field(description="What it awards.")
    priority: int = strawberry.field(default=0, description="Higher first, -1000 to 1000.")
    exclusive_group: str | None = strawberry.field(
        default=None, description="1-32 characters; one rule of a group applies per event."
    )
    group_pick: RuleGroupPick = strawberry.field(  # type: ignore[valid-type]
        default=GroupPick.BEST, description="How its group picks."
    )
    starts_at: datetime | None = strawberry.field(default=None, description="Events from then on.")
    ends_at: datetime | None = strawberry.field(default=None, description="Events before then.")
    budget: RuleBudgetInput | None = strawberry.field(default=None, description="Its caps.")
    effective_from: datetime | None = strawberry.field(
        default=None, description="When the rule takes effect (not in the past); null: now."
    )


@strawberry.input(description="A new version of a rule: only the fields given change.")
class ReviseEarningRuleInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    event_type: str | None = strawberry.field(
        default=strawberry.UNSET, description="The event type code."
    )
    condition: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="A condition tree; null: every event."
    )
    effect: EarningEffectInput | None = strawberry.field(
        default=strawberry.UNSET, description="What it awards."
    )
    priority: int | None = strawberry.field(default=strawberry.UNSET, description="Priority.")
    exclusive_group: str | None = strawberry.field(
        default=strawberry.UNSET, description="Its exclusive group; null: it stacks."
    )
    group_pick: RuleGroupPick | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="How its group picks."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Events from then on; null: any."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Events before then; null: any."
    )
    budget: RuleBudgetInput | None = strawberry.field(
        default=strawberry.UNSET, description="Its caps (all of them; null: none)."
    )
    effective_from: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the new version replaces the one in force (not in the past; a "
        "later date schedules it); null: now.",
    )


@strawberry.type(description="The rule is saved (and audited).")
class EarningRuleSaved:
    rule: EarningRuleType = strawberry.field(description="The rule as saved.")


EarningRuleResult = Annotated[
    EarningRuleSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "EarningRuleResult",
        description="EarningRuleSaved, or: ValidationFailed (the problems listed, each at "
        "its field; a condition's at the path of its node), NotFound (no such rule), "
        "Forbidden (not a marketer or an admin).",
    ),
]


@strawberry.type(description="An earning rule that gave something to the event.")
class AppliedRule:
    code: str = strawberry.field(description="The rule's code.")
    name: str = strawberry.field(description="The rule's display name.")
    version: int = strawberry.field(description="The version it applied under.")
    points: int = strawberry.field(description="Points it gave (rounded down).")
    growth: int = strawberry.field(description="Growth it gave.")


@strawberry.type(description="An earning rule of the event's type that gave nothing, and why.")
class SkippedRule:
    code: str = strawberry.field(description="The rule's code.")
    name: str = strawberry.field(description="The rule's display name.")
    version: int = strawberry.field(description="The version in force.")
    reason: RuleSkipReason = strawberry.field(description="Why.")  # type: ignore[valid-type]
    detail: str = strawberry.field(
        description="More, for people: which rule won its group, the offer is exhausted, …"
    )


def applied_rules(outcome: dict[str, Any]) -> list[AppliedRule]:
    return [AppliedRule(**r) for r in outcome.get("rules", [])]


def skipped_rules(outcome: dict[str, Any]) -> list[SkippedRule]:
    return [
        SkippedRule(**{**r, "reason": SkipReason(r["reason"])})
        for r in outcome.get("rulesSkipped", [])
    ]
