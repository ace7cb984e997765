"""Earning rules as marketers write them: create, revise (a new version), archive."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry.types import Info

from app.api.rules.types import (
    CreateEarningRuleInput,
    EarningRuleResult,
    EarningRuleSaved,
    EarningRuleType,
    ReviseEarningRuleInput,
    RuleBudgetInput,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, roles
from app.api.shared.results import typed_failures
from app.services.rules import catalogue
from gamification.rules.engine import Budget


def _budget(given: RuleBudgetInput | None) -> Budget:
    if given is None:
        return Budget()
    return Budget(
        campaign_points=given.campaign_points,
        campaign_awards=given.campaign_awards,
        member_points=given.member_points,
        member_awards=given.member_awards,
        member_period=given.member_period,
    )


async def _saved(info: Info[Context, None], rule_id: int) -> EarningRuleSaved:
    view = await catalogue.rule_view(rule_id=rule_id, now=info.context.now)
    return EarningRuleSaved(rule=EarningRuleType.from_view(view))


@strawberry.type
class EarningRuleMutations:
    @strawberry.mutation(
        description="Write a new earning rule (its version 1), in force from effectiveFrom "
        "(marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_earning_rule(
        self,
        info: Info[Context, None],
        input: Annotated[CreateEarningRuleInput, strawberry.argument(description="The rule.")],
    ) -> EarningRuleResult:
        rule, _ = await catalogue.create_rule(
            code=input.code,
            name=input.name,
            definition=catalogue.RuleDefinition(
                event_type=input.event_type,
                effect=input.effect.to_effect(),
                condition=cast(dict[str, Any] | None, input.condition),
                priority=input.priority,
                exclusive_group=input.exclusive_group,
                group_pick=input.group_pick,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                budget=_budget(input.budget),
            ),
            effective_from=input.effective_from,
            actor=audit_actor(info),
            now=info.context.now,
        )
        return await _saved(info, rule.id)

    @strawberry.mutation(
        description="Edit a rule: a new version from its latest with the fields given, in "
        "force from effectiveFrom (now, or later to schedule it); past awards keep naming "
        "their version (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def revise_earning_rule(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="An EarningRule id.")],
        input: Annotated[
            ReviseEarningRuleInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> EarningRuleResult:
        pk = input_id(id, kind="EarningRule", argument="id")
        given: dict[str, Any] = given_changes(
            input,
            nullable=(
                "condition",
                "exclusive_group",
                "starts_at",
                "ends_at",
                "budget",
                "effective_from",
            ),
        )
        name = given.pop("name", None)
        effective_from = given.pop("effective_from", None)
        if "effect" in given:
            given["effect"] = given["effect"].to_effect()
        if "budget" in given:
            given["budget"] = _budget(given["budget"])
        rule, _ = await catalogue.revise_rule(
            rule_id=pk,
            changes=given,
            name=name,
            effective_from=effective_from,
            actor=audit_actor(info),
            now=info.context.now,
        )
        return await _saved(info, rule.id)

    @strawberry.mutation(
        description="Stop a rule for good (idempotent); its awards stay (marketers, admins; "
        "audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def archive_earning_rule(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="An EarningRule id.")],
    ) -> EarningRuleResult:
        pk = input_id(id, kind="EarningRule", argument="id")
        rule = await catalogue.archive_rule(
            rule_id=pk, actor=audit_actor(info), now=info.context.now
        )
        return await _saved(info, rule.id)
