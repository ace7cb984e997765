"""The badges a member sees, with the progress made towards each level."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from app.models import Badge, MemberBadge, MemberFact
from gamification.badges import BadgeProgress, badge_progress


class MemberPoints(NamedTuple):
    """A member and its lifetime points (the lifetime-points badge falls back on them)."""

    member_id: int
    lifetime_points: int


async def visible_badges_by_member(
    *, members: Iterable[MemberPoints]
) -> dict[MemberPoints, list[BadgeProgress]]:
    """Every badge that is not hidden, plus hidden ones the member has earned, per member.

    Three statements, however many members there are: the badges, the members' facts
    that badges read, and the badge levels they hold.
    """
    keys = set(members)
    badges = [(badge.id, badge.to_rule()) for badge in await Badge.all().order_by("id")]
    if not badges or not keys:
        return {key: [] for key in keys}
    member_ids = {key.member_id for key in keys}
    facts: dict[int, dict[str, int]] = {m: {} for m in member_ids}
    wanted = {rule.key for _, rule in badges}
    for fact in await MemberFact.filter(member_id__in=member_ids, key__in=wanted):
        facts[fact.member_id][fact.key] = fact.value
    held: dict[int, dict[int, int]] = {m: {} for m in member_ids}
    for award in await MemberBadge.filter(member_id__in=member_ids):
        levels = held[award.member_id]
        levels[award.badge_id] = max(levels.get(award.badge_id, 0), award.level)
    result = {}
    for key in keys:
        known = {"lifetime_points": key.lifetime_points} | facts[key.member_id]
        levels = held[key.member_id]
        result[key] = [
            badge_progress(rule, facts=known, held_level=levels.get(badge_id, 0))
            for badge_id, rule in badges
            if not rule.hidden or levels.get(badge_id, 0)
        ]
    return result


async def hidden_badges_to_find(*, member_ids: Iterable[int]) -> dict[int, int]:
    """How many hidden badges each member has not earned yet (a member's page shows each as
    "?", naming none). Two statements, however many members there are."""
    wanted = set(member_ids)
    hidden = set(await Badge.filter(hidden=True).values_list("id", flat=True))
    if not hidden or not wanted:
        return {m: len(hidden) for m in wanted}
    earned: dict[int, set[int]] = {m: set() for m in wanted}
    for member_id, badge_id in await MemberBadge.filter(
        member_id__in=wanted, badge_id__in=hidden, level__gt=0
    ).values_list("member_id", "badge_id"):
        earned[member_id].add(badge_id)
    return {m: len(hidden - earned[m]) for m in wanted}
