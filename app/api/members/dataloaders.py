"""Per-request loaders of members' tasks, badges and benefit grants, a few statements each
for a whole page.

They batch but do not cache: mutations in one document run in turn and change progress,
so a member read again after a mutation must be read afresh (the tier loader can cache,
tiers never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from strawberry.dataloader import DataLoader

from app.models import BenefitGrant, Member
from app.services.badges.progress import (
    MemberPoints,
    hidden_badges_to_find,
    visible_badges_by_member,
)
from app.services.benefits.grants import MemberGrants, grants_by_member
from app.services.points.pending import Pending, pending_points_by_member
from app.services.tasks.progress import MemberRank, TaskView, available_tasks_by_member
from gamification.badges import BadgeProgress


def member_tasks_loader(*, now: datetime, zone: ZoneInfo) -> DataLoader[MemberRank, list[TaskView]]:
    async def load(keys: Sequence[MemberRank]) -> list[list[TaskView]]:
        found = await available_tasks_by_member(members=keys, now=now, zone=zone)
        return [found[k] for k in keys]

    return DataLoader(load_fn=load, cache=False)


def member_badges_loader() -> DataLoader[MemberPoints, list[BadgeProgress]]:
    async def load(keys: Sequence[MemberPoints]) -> list[list[BadgeProgress]]:
        found = await visible_badges_by_member(members=keys)
        return [found[k] for k in keys]

    return DataLoader(load_fn=load, cache=False)


def hidden_badges_loader() -> DataLoader[int, int]:
    """Hidden badges a member has not earned yet, by member id."""

    async def load(keys: Sequence[int]) -> list[int]:
        found = await hidden_badges_to_find(member_ids=keys)
        return [found[k] for k in keys]

    return DataLoader(load_fn=load, cache=False)


def member_benefits_loader(*, now: datetime) -> DataLoader[MemberGrants, list[BenefitGrant]]:
    async def load(keys: Sequence[MemberGrants]) -> list[list[BenefitGrant]]:
        found = await grants_by_member(keys=keys, now=now)
        return [found[k] for k in keys]

    # No cache: a grant used by a mutation earlier in the document must read as used.
    return DataLoader(load_fn=load, cache=False)


def member_pending_points_loader() -> DataLoader[int, list[Pending]]:
    async def load(keys: Sequence[int]) -> list[list[Pending]]:
        found = await pending_points_by_member(keys)
        return [found[k] for k in keys]

    # No cache: a reversal earlier in the document may have cancelled some.
    return DataLoader(load_fn=load, cache=False)


def member_by_id_loader() -> DataLoader[int, Member | None]:
    """Members by id (public board entries need their display name and tier)."""

    async def load(keys: Sequence[int]) -> list[Member | None]:
        by_id = {m.id: m for m in await Member.filter(id__in=set(keys))}
        return [by_id.get(k) for k in keys]

    return DataLoader(load_fn=load)
