"""The earning rules marketers keep: created, edited (each edit a new version, possibly
scheduled ahead), archived, and read with what their budgets have left.

A version, once written, never changes: the ledger rows a rule awarded name its version,
and so name exactly what they were awarded under. Validated, audited, one transaction;
the triggers of migration 0026 move the programme stamp with it, so every process compiles
the rules again on its next event.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import EarningRule, EarningRuleSpend, EarningRuleVersion, EventType
from app.services.rules.budgets import CAMPAIGN, CAMPAIGN_KEY
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from gamification.activity.attributes import schema_from_json
from gamification.rules.engine import Budget, Effect, GroupPick, check_rule
from gamification.shared.problems import Problem


@dataclass(frozen=True, slots=True)
class RuleDefinition:
    """What a version of a rule says (everything but its code and name)."""

    event_type: str
    effect: Effect
    condition: dict[str, Any] | None = None
    priority: int = 0
    exclusive_group: str | None = None
    group_pick: GroupPick = GroupPick.BEST
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    budget: Budget = field(default_factory=Budget)

    @classmethod
    def of(cls, version: EarningRuleVersion) -> RuleDefinition:
        return cls(
            event_type=version.event_type,
            effect=version.effect_value(),
            condition=version.condition,
            priority=version.priority,
            exclusive_group=version.exclusive_group,
            group_pick=version.group_pick,
            starts_at=version.starts_at,
            ends_at=version.ends_at,
            budget=version.budget(),
        )

    def columns(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "effect": self.effect.to_json(),
            "condition": self.condition,
            "priority": self.priority,
            "exclusive_group": self.exclusive_group,
            "group_pick": self.group_pick,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "campaign_points_cap": self.budget.campaign_points,
            "campaign_awards_cap": self.budget.campaign_awards,
            "member_points_cap": self.budget.member_points,
            "member_awards_cap": self.budget.member_awards,
            "member_cap_period": self.budget.member_period,
        }


VERSION_FIELDS = (
    "number",
    "event_type",
    "condition",
    "effect",
    "priority",
    "exclusive_group",
    "group_pick",
    "starts_at",
    "ends_at",
    "campaign_points_cap",
    "campaign_awards_cap",
    "member_points_cap",
    "member_awards_cap",
    "member_cap_period",
    "effective_from",
)


async def _check(code: str, name: str, definition: RuleDefinition) -> None:
    problems: list[Problem] = []
    # Tortoise refuses a filter value longer than the column; no such code can exist.
    event_type = (
        await EventType.get_or_none(code=definition.event_type)
        if len(definition.event_type) <= 32
        else None
    )
    if event_type is None:
        problems.append(Problem("eventType", f"{definition.event_type!r} is not an event type"))
    schema = schema_from_json(event_type.attribute_schema) if event_type else None
    problems += check_rule(
        code=code,
        name=name,
        condition=definition.condition,
        effect=definition.effect,
        schema=schema,
        priority=definition.priority,
        group=definition.exclusive_group,
        starts_at=definition.starts_at,
        ends_at=definition.ends_at,
        budget=definition.budget,
    )
    if problems:
        raise InvalidInput(problems)


def _effective(effective_from: datetime | None, now: datetime) -> datetime:
    if effective_from is None:
        return now
    if effective_from.tzinfo is None:
        raise InvalidInput.single("effectiveFrom", "must include a time zone offset")
    if effective_from < now:
        raise InvalidInput.single("effectiveFrom", "must not be in the past: awards made stay")
    return effective_from


async def create_rule(
    *,
    code: str,
    name: str,
    definition: RuleDefinition,
    effective_from: datetime | None = None,
    actor: Actor | None,
    now: datetime,
) -> tuple[EarningRule, EarningRuleVersion]:
    """A new rule and its version 1, in force from ``effective_from`` (default now)."""
    await _check(code, name, definition)
    since = _effective(effective_from, now)
    try:
        async with (
            in_transaction() as conn,
            audited(
                conn, actor=actor, action="earningRule.create", fields=("code", "name"), now=now
            ) as change,
        ):
            rule = change.created(
                await EarningRule.create(
                    code=code, name=name.strip(), created_at=now, using_db=conn
                )
            )
            version = await EarningRuleVersion.create(
                rule=rule,
                number=1,
                effective_from=since,
                created_at=now,
                **definition.columns(),
                using_db=conn,
            )
            change.note(version=_plain_version(version))
    except IntegrityError:
        raise InvalidInput.single("code", f"{code!r} is already used by another rule") from None
    return rule, version


async def revise_rule(
    *,
    rule_id: int,
    changes: dict[str, Any],
    name: str | None = None,
    effective_from: datetime | None = None,
    actor: Actor | None,
    now: datetime,
) -> tuple[EarningRule, EarningRuleVersion]:
    """A new version of a rule: its latest version with ``changes`` (fields of
    :class:`RuleDefinition`) applied, in force from ``effective_from`` (default now; a
    later one schedules it). Past awards keep naming the version they were made under."""
    since = _effective(effective_from, now)
    async with in_transaction() as conn:
        rule = await get_locked_or_not_found(EarningRule, rule_id, conn=conn)
        if rule.archived_at is not None:
            raise InvalidInput.single("id", "the rule is archived")
        latest = (
            await EarningRuleVersion.filter(rule_id=rule.id)
            .using_db(conn)
            .order_by("-number")
            .first()
        )
        assert latest is not None  # every rule is created with its version 1
        definition = replace(RuleDefinition.of(latest), **changes)
        new_name = name.strip() if name is not None else rule.name
        await _check(rule.code, new_name, definition)
        async with audited(
            conn,
            actor=actor,
            action="earningRule.revise",
            subject=rule,
            fields=("code", "name"),
            now=now,
        ) as change:
            if new_name != rule.name:
                rule.name = new_name
                await rule.save(using_db=conn, update_fields=["name"])
            version = await EarningRuleVersion.create(
                rule=rule,
                number=latest.number + 1,
                effective_from=since,
                created_at=now,
                **definition.columns(),
                using_db=conn,
            )
            change.note(version=_plain_version(version))
    return rule, version


async def archive_rule(*, rule_id: int, actor: Actor | None, now: datetime) -> EarningRule:
    """Stop a rule for good (archiving again changes nothing); its awards stay."""
    async with in_transaction() as conn:
        rule = await get_locked_or_not_found(EarningRule, rule_id, conn=conn)
        if rule.archived_at is not None:
            return rule
        async with audited(
            conn,
            actor=actor,
            action="earningRule.archive",
            subject=rule,
            fields=("code", "archived_at"),
            now=now,
        ):
            rule.archived_at = now
            await rule.save(using_db=conn, update_fields=["archived_at"])
    return rule


def _plain_version(version: EarningRuleVersion) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in VERSION_FIELDS:
        value = getattr(version, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


@dataclass(frozen=True, slots=True)
class RuleBudgetUse:
    """What a rule has given in all, what its campaign budget has left, and how fast it
    goes (points a day since its first award)."""

    points: int
    awards: int
    points_left: int | None
    awards_left: int | None
    points_per_day: Decimal
    first_at: datetime | None


@dataclass(frozen=True, slots=True)
class RuleView:
    rule: EarningRule
    versions: list[EarningRuleVersion]  # latest first
    in_force: EarningRuleVersion | None
    use: RuleBudgetUse


async def rule_views(*, now: datetime, include_archived: bool = False) -> list[RuleView]:
    """Every rule with its versions and budget use: three statements."""
    query = EarningRule.all().order_by("id")
    if not include_archived:
        query = query.filter(archived_at__isnull=True)
    rules = await query
    if not rules:
        return []
    ids = [r.id for r in rules]
    versions: dict[int, list[EarningRuleVersion]] = {i: [] for i in ids}
    for v in await EarningRuleVersion.filter(rule_id__in=ids).order_by("-number"):
        versions[v.rule_id].append(v)
    spend = {
        s.rule_id: s
        for s in await EarningRuleSpend.filter(
            rule_id__in=ids, member_id=CAMPAIGN, period_key=CAMPAIGN_KEY
        )
    }
    views = []
    for rule in rules:
        in_force = next(
            (
                v
                for v in sorted(versions[rule.id], key=lambda v: (v.effective_from, v.number))[::-1]
                if v.effective_from <= now
            ),
            None,
        )
        current = in_force or (versions[rule.id][-1] if versions[rule.id] else None)
        views.append(
            RuleView(rule, versions[rule.id], in_force, _use(spend.get(rule.id), current, now))
        )
    return views


async def rule_view(*, rule_id: int, now: datetime) -> RuleView:
    rule = await get_or_not_found(EarningRule, rule_id)
    found = [v for v in await rule_views(now=now, include_archived=True) if v.rule.id == rule.id]
    return found[0]


def _use(
    spend: EarningRuleSpend | None, version: EarningRuleVersion | None, now: datetime
) -> RuleBudgetUse:
    points = spend.points if spend else 0
    awards = spend.awards if spend else 0
    cap_points = version.campaign_points_cap if version else None
    cap_awards = version.campaign_awards_cap if version else None
    first = spend.first_at if spend else None
    days = Decimal(max((now - first).total_seconds(), 3600)) / 86400 if first else None
    return RuleBudgetUse(
        points=points,
        awards=awards,
        points_left=None if cap_points is None else max(0, cap_points - points),
        awards_left=None if cap_awards is None else max(0, cap_awards - awards),
        points_per_day=(Decimal(points) / days).quantize(Decimal("0.01")) if days else Decimal(0),
        first_at=first,
    )
