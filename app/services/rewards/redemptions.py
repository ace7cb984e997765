"""Redeeming points for a reward: stock and balance fall atomically, or nothing happens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.models import Member, Notification, OutboxMessage, PointsLedgerEntry, Redemption, Reward
from app.services.notifications.outbox import outbox_written
from app.services.rewards.catalogue import tier_rank_of
from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberInactive,
    NotFound,
    ServiceError,
)
from app.services.shared.lookups import get_or_not_found
from gamification.points.ledger import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_REASON_LENGTH,
    LedgerKind,
    LedgerSource,
)
from gamification.rewards import UNAVAILABLE_MESSAGES, why_unavailable


class InsufficientPoints(ServiceError):
    def __init__(self, *, balance: int, cost: int) -> None:
        super().__init__(f"the reward costs {cost} points and the balance is {balance}")
        self.balance = balance
        self.cost = cost


class OutOfStock(ServiceError):
    def __init__(self, reward_id: int) -> None:
        super().__init__("the reward is out of stock")
        self.reward_id = reward_id


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: Redemption
    reward: Reward
    # True when the idempotency key had been used: ``redemption`` is the first one, and
    # nothing new was spent.
    replayed: bool


async def redeem_reward(
    *, member_id: int, reward_id: int, idempotency_key: str | None = None, now: datetime
) -> Redeemed:
    """Spend a reward's cost from a member's balance and take one from its stock.

    One transaction: stock falls by ``UPDATE ... SET stock = stock - 1 WHERE stock > 0``
    and the balance by ``UPDATE ... SET points_balance = points_balance - cost WHERE
    points_balance >= cost``; when either matches no row, everything is rolled back and
    the failure is raised (OutOfStock, MemberInactive, InsufficientPoints). No value is
    read and written back, so concurrent redemptions can neither oversell nor overdraw (the
    row locks the UPDATEs take serialise them on PostgreSQL; SQLite serialises write transactions).
    Then the ledger row (with the balance that UPDATE produced), the redemption, an outbox
    row and the member's notification. With an ``idempotency_key`` a retry returns the
    first redemption; the unique (member, key) makes concurrent retries safe.
    """
    key = _checked_key(idempotency_key)
    if key is not None and (first := await _first(member_id, key)) is not None:
        return await _replay(first, reward_id=reward_id, key=key)
    reward = await get_or_not_found(Reward, reward_id)
    rank = await tier_rank_of(member_id)
    if rank is None:
        raise NotFound("Member", member_id)
    # Read before the transaction: a redemption racing a marketer's change sees the reward
    # as it was a moment earlier, like one that came just before the change.
    reason = why_unavailable(reward.to_rule(), tier_rank=rank, now=now)
    if reason is not None:
        raise InvalidInput.single("rewardId", UNAVAILABLE_MESSAGES[reason])
    cost = reward.points_cost
    try:
        async with in_transaction() as conn:
            if reward.stock is not None:
                taken = (
                    await Reward.filter(id=reward.id, stock__gt=0)
                    .using_db(conn)
                    .update(stock=F("stock") - 1)
                )
                if not taken:
                    raise OutOfStock(reward.id)
                # What is left after this one, under the lock the UPDATE holds.
                reward.stock = (
                    await Reward.filter(id=reward.id)
                    .using_db(conn)
                    .first()
                    .values_list("stock", flat=True)
                )
            # A deactivated member's points cannot be spent: the UPDATE's own condition, so
            # a deactivation committing meanwhile cannot slip between a check and the spend.
            spent = (
                await Member.filter(
                    id=member_id, points_balance__gte=cost, deactivated_at__isnull=True
                )
                .using_db(conn)
                .update(points_balance=F("points_balance") - cost, updated_at=now)
            )
            # Read inside the transaction, under the lock the UPDATE holds (if it matched).
            balance, deactivated_at = (
                await Member.filter(id=member_id)
                .using_db(conn)
                .first()
                .values_list("points_balance", "deactivated_at")
            )
            if not spent and deactivated_at is not None:
                raise MemberInactive(member_id)
            if not spent:
                raise InsufficientPoints(balance=balance, cost=cost)
            redemption = await Redemption.create(
                member_id=member_id,
                reward_id=reward.id,
                points=cost,
                idempotency_key=key,
                created_at=now,
                using_db=conn,
            )
            await PointsLedgerEntry.create(
                member_id=member_id,
                delta=-cost,
                kind=LedgerKind.SPEND,
                reason=f"Redeemed: {reward.name}"[:MAX_REASON_LENGTH],
                source=LedgerSource.REDEMPTION,
                idempotency_key=f"redemption-{redemption.id}",
                balance_after=balance,
                using_db=conn,
            )
            await OutboxMessage.create(
                topic="reward.redeemed",
                payload={
                    "member_id": member_id,
                    "reward_id": reward.id,
                    "reward_code": reward.code,
                    "redemption_id": redemption.id,
                    "points": cost,
                    "balance": balance,
                    "stock_left": reward.stock,
                },
                created_at=now,
                using_db=conn,
            )
            await Notification.create(
                member_id=member_id,
                kind="reward_redeemed",
                title=f"You redeemed {reward.name}",
                body=f"{cost} points spent; {balance} points left.",
                data={"reward": reward.code, "redemptionId": redemption.id, "points": cost},
                created_at=now,
                using_db=conn,
            )
    except IntegrityError:
        # A concurrent retry with the same key committed first: this one spent nothing.
        if key is None or (first := await _first(member_id, key)) is None:
            raise
        return await _replay(first, reward_id=reward_id, key=key)
    outbox_written()
    return Redeemed(redemption, reward, replayed=False)


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip():
        raise InvalidInput.single("idempotencyKey", "must not be empty (or leave it out)")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidInput.single(
            "idempotencyKey", f"must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    return key


async def _first(member_id: int, key: str) -> Redemption | None:
    return await Redemption.get_or_none(member_id=member_id, idempotency_key=key)


async def _replay(first: Redemption, *, reward_id: int, key: str) -> Redeemed:
    if first.reward_id != reward_id:
        raise IdempotencyConflict(key)
    return Redeemed(first, await Reward.get(id=first.reward_id), replayed=True)
