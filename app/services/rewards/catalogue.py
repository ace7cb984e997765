"""The rewards catalogue: marketers define rewards (validated, audited); members list theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.models import Member, Reward
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import archive_entry, create_entry
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from app.services.tiers.ladder import tiers_in_force
from gamification.rewards import check_reward

REWARD_FIELDS = (
    "code",
    "name",
    "description",
    "points_cost",
    "stock",
    "starts_at",
    "ends_at",
    "min_tier_rank",
    "max_tier_rank",
    "active",
    "archived_at",
    "cancel_window_hours",
    "issues_coupons",
)


# Fields of a definition that check_reward has no rule for.
NOT_CHECKED = ("active", "issues_coupons")


@dataclass(frozen=True, slots=True)
class RewardDefinition:
    code: str
    name: str
    points_cost: int
    description: str = ""
    # None: unlimited.
    stock: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    min_tier_rank: int | None = None
    max_tier_rank: int | None = None
    active: bool = True
    # None: LAUREL_REDEMPTION_CANCEL_WINDOW_HOURS; 0: not cancellable.
    cancel_window_hours: int | None = None
    # Each redemption hands out one unique code of the reward's coupon pool.
    issues_coupons: bool = False


async def _check(definition: RewardDefinition, *, now: datetime) -> None:
    problems = check_reward(
        code=definition.code,
        name=definition.name,
        description=definition.description,
        points_cost=definition.points_cost,
        stock=definition.stock,
        starts_at=definition.starts_at,
        ends_at=definition.ends_at,
        min_tier_rank=definition.min_tier_rank,
        max_tier_rank=definition.max_tier_rank,
        tier_count=len(await tiers_in_force(now=now)),
        cancel_window_hours=definition.cancel_window_hours,
    )
    if problems:
        raise InvalidInput(problems)


async def create_reward(*, definition: RewardDefinition, actor: Actor, now: datetime) -> Reward:
    await _check(definition, now=now)
    fields = {name: getattr(definition, name) for name in RewardDefinition.__slots__}
    fields["name"] = definition.name.strip()
    taken = InvalidInput.single("code", f"{definition.code!r} is already used")
    return await create_entry(
        Reward, fields, "reward.create", REWARD_FIELDS, actor=actor, now=now, taken=taken
    )


async def update_reward(
    *, reward_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Reward:
    """Change some fields of a reward (any of RewardDefinition's).

    Setting ``stock`` states how many are left from now on (a restock or a count). Only
    the changed columns are written, so redemptions committed meanwhile are not undone.
    """
    update = PartialUpdate(changes, changeable=RewardDefinition.__slots__).stripped("name")
    tier_count = len(await tiers_in_force(now=now))
    async with in_transaction() as conn:
        reward = await get_locked_or_not_found(Reward, reward_id, conn=conn)
        if reward.archived_at is not None:
            raise InvalidInput.single("id", "an archived reward cannot be changed")
        merged = update.merged(reward, RewardDefinition.__slots__)
        problems = check_reward(
            **{k: v for k, v in merged.items() if k not in NOT_CHECKED}, tier_count=tier_count
        )
        if problems:
            raise InvalidInput(problems)
        async with audited(
            conn, actor=actor, action="reward.update", subject=reward, fields=REWARD_FIELDS, now=now
        ):
            if written := update.apply(reward):
                try:
                    await reward.save(using_db=conn, update_fields=written)
                except IntegrityError:
                    raise InvalidInput.single("code", "is already used by another reward") from None
    return reward


async def archive_reward(*, reward_id: int, actor: Actor, now: datetime) -> Reward:
    """Withdraw a reward for good; archiving twice changes nothing. Redemptions stay."""
    return await archive_entry(
        Reward, reward_id, "reward.archive", REWARD_FIELDS, actor=actor, now=now
    )


async def tier_rank_of(member_id: int) -> int | None:
    """The rank of a member's tier (None: no such member)."""
    # Tortoise types flat values_list results as tuples.
    rank: int | None = await (  # type: ignore[assignment]
        Member.filter(id=member_id).first().values_list("tier__rank", flat=True)
    )
    return rank


async def rewards_page(
    *,
    first: int,
    after_id: int | None,
    now: datetime,
    member_id: int | None = None,
    include_archived: bool = False,
) -> tuple[list[Reward], bool]:
    """Rewards in catalogue order after ``after_id``; the flag says whether more follow.

    For a member: only those it could redeem now (active, open, offered to its tier),
    whether or not any are left in stock, so an app can show "sold out". For staff: all
    of them, archived ones only on request.
    """
    query = Reward.all().order_by("id")
    if member_id is not None:
        rank = await tier_rank_of(member_id)
        if rank is None:
            return [], False
        query = query.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=now),
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            Q(min_tier_rank__isnull=True) | Q(min_tier_rank__lte=rank),
            Q(max_tier_rank__isnull=True) | Q(max_tier_rank__gte=rank),
            archived_at__isnull=True,
            active=True,
        )
    elif not include_archived:
        query = query.filter(archived_at__isnull=True)
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first
