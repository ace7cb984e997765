"""Earning rules on the event path: what they award one event, within their budgets.

A campaign budget is shared by every member, so it is decided by the database: each award
under a capped rule adds itself to the rule's campaign row with one conditional upsert
(``… ON CONFLICT … DO UPDATE … WHERE points + x <= cap RETURNING``) that refuses it when
it would pass the cap. On PostgreSQL concurrent awards queue on that row, and each sees
the one before it: no interleaving overshoots. A refused rule is *exhausted* for the
event, and the rules are evaluated again without it (the next of its exclusive group may
apply). A member cap needs no condition: the event path holds the member's row locked, so
what the member was given, read at the start of the batch and moved on as its events
apply, is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.backends.base.client import BaseDBAsyncClient

from app.dialect import Dialect
from gamification.rules.conditions import Subject
from gamification.rules.engine import NO_CAP, Earning, EarningRule, evaluate_rules
from gamification.shared.calendar import window_for

if TYPE_CHECKING:
    from app.services.activity.events import EventInput

CAMPAIGN = 0  # the member id of a rule's campaign row
CAMPAIGN_KEY = "campaign"


class EarningMember(Protocol):
    """What the rules read of a locked member row."""

    id: int
    birthday: Any
    joined_at: datetime
    points_balance: int
    time_zone: str | None


class MemberSpend:
    """What rules with a member cap gave each member, by (rule, member, period key), as
    read under the lock and moved on as the batch's events apply."""

    def __init__(self, read: Sequence[Sequence[Any]]) -> None:
        self.rows: dict[tuple[int, int, str], tuple[int, int]] = {
            (int(rule), int(member), str(key)): (int(points), int(awards))
            for rule, member, key, points, awards in read
        }

    def add(self, key: tuple[int, int, str], points: int) -> None:
        had_points, had_awards = self.rows.get(key, (0, 0))
        self.rows[key] = (had_points + points, had_awards + 1)


def member_period_key(rule: EarningRule, *, at: datetime, zone: ZoneInfo) -> str:
    span = window_for(rule.budget.member_period, at, zone=zone)
    return span.key if span is not None else CAMPAIGN_KEY


def member_zone(time_zone: str | None, default: ZoneInfo) -> ZoneInfo:
    if not time_zone:
        return default
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return default


async def earn(
    conn: BaseDBAsyncClient,
    d: Dialect,
    rules: Sequence[EarningRule],
    *,
    member: EarningMember,
    tier_code: str,
    item: EventInput,
    own_points: int,
    spent: MemberSpend,
    writes: dict[tuple[int, int, str], list[int]],
    zone: ZoneInfo,
    now: datetime,
) -> Earning:
    """What ``rules`` (those of the event's type in force, in stacking order) award one
    event, the campaign budgets claimed and the spending to write added to ``writes``."""
    local = member_zone(member.time_zone, zone)
    subject = Subject(
        amount=item.amount,
        attributes=item.attributes or {},
        local_time=item.occurred_at.astimezone(local),
        tier=tier_code,
        birthday=member.birthday,
        joined_at=member.joined_at,
        points_balance=member.points_balance,
    )
    keys = {
        rule.id: member_period_key(rule, at=item.occurred_at, zone=zone)
        for rule in rules
        if rule.budget.member_capped
    }
    member_spent = {
        rule_id: spent.rows.get((rule_id, member.id, key), (0, 0)) for rule_id, key in keys.items()
    }
    exhausted: set[int] = set()
    claimed: set[int] = set()
    while True:
        earning = evaluate_rules(
            rules,
            subject=subject,
            at=item.occurred_at,
            event_points=own_points,
            member_spent=member_spent,
            exhausted=frozenset(exhausted),
        )
        to_claim = [
            a for a in earning.awards if a.rule.budget.campaign_capped and a.rule.id not in claimed
        ]
        if not to_claim:
            break
        refused = False
        for award in to_claim:
            if await _claim(conn, d, award.rule, points=award.points, now=now):
                claimed.add(award.rule.id)
            else:
                exhausted.add(award.rule.id)
                refused = True
        if not refused:
            break
    for award in earning.awards:
        rule = award.rule
        if rule.budget.member_capped:
            key = (rule.id, member.id, keys[rule.id])
            spent.add(key, award.points)
            _add(writes, key, award.points)
        if not rule.budget.campaign_capped:
            _add(writes, (rule.id, CAMPAIGN, CAMPAIGN_KEY), award.points)
    return earning


def _add(
    writes: dict[tuple[int, int, str], list[int]], key: tuple[int, int, str], points: int
) -> None:
    row = writes.setdefault(key, [0, 0])
    row[0] += points
    row[1] += 1


async def _claim(
    conn: BaseDBAsyncClient, d: Dialect, rule: EarningRule, *, points: int, now: datetime
) -> bool:
    """Add one award of ``points`` to the rule's campaign row unless that passes a cap."""
    budget = rule.budget
    cap_points = budget.campaign_points if budget.campaign_points is not None else NO_CAP
    cap_awards = budget.campaign_awards if budget.campaign_awards is not None else NO_CAP
    if points > cap_points:  # the first award inserts the row: no condition guards it
        return False
    (statement,) = d.insert(
        "earning_rule_spend",
        ("rule_id", "member_id", "period_key", "points", "awards", "first_at", "updated_at"),
        [[rule.id, CAMPAIGN, CAMPAIGN_KEY, points, 1, now, now]],
        "ON CONFLICT (rule_id, member_id, period_key) DO UPDATE SET "
        "points = earning_rule_spend.points + excluded.points, "
        "awards = earning_rule_spend.awards + excluded.awards, "
        "updated_at = excluded.updated_at "
        f"WHERE earning_rule_spend.points + excluded.points <= {int(cap_points)} "
        f"AND earning_rule_spend.awards + excluded.awards <= {int(cap_awards)} "
        "RETURNING rule_id",
    )
    return bool(await d.rows(conn, statement))


def explain_earning(earning: Earning) -> dict[str, Any]:
    """What the rules did, for the event's stored outcome (JSON-safe)."""
    return {
        "rules": [
            {
                "code": a.rule.code,
                "name": a.rule.name,
                "version": a.rule.version,
                "points": a.points,
                "growth": a.growth,
            }
            for a in earning.awards
        ],
        "rulesSkipped": [
            {
                "code": s.rule.code,
                "name": s.rule.name,
                "version": s.rule.version,
                "reason": s.reason.value,
                "detail": s.detail,
            }
            for s in earning.skipped
        ],
    }
