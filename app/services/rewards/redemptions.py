"""Redeeming points for a reward: stock and balance fall atomically, or nothing happens;
cancelling a redemption inside its window refunds it exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.models import (
    CouponCode,
    Member,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    Redemption,
    Reward,
)
from app.services.notifications.outbox import outbox_written
from app.services.rewards.catalogue import tier_rank_of
from app.services.rewards.coupons import CouponsExhausted, alert_exhausted, take_coupon
from app.services.shared.audit import Actor, audited
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
from gamification.rewards import (
    UNAVAILABLE_MESSAGES,
    RedemptionStatus,
    cancellable_until,
    why_unavailable,
)


class InsufficientPoints(ServiceError):
    def __init__(self, *, balance: int, cost: int) -> None:
        super().__init__(f"the reward costs {cost} points and the balance is {balance}")
        self.balance = balance
        self.cost = cost


class OutOfStock(ServiceError):
    def __init__(self, reward_id: int) -> None:
        super().__init__("the reward is out of stock")
        self.reward_id = reward_id


class AlreadyCancelled(ServiceError):
    def __init__(self, redemption: Redemption) -> None:
        super().__init__("the redemption is already cancelled")
        self.redemption = redemption


class CancelWindowClosed(ServiceError):
    def __init__(self, redemption: Redemption) -> None:
        until = redemption.cancellable_until
        super().__init__(
            "the redemption can no longer be cancelled"
            if until is not None
            else "the redemption cannot be cancelled"
        )
        self.redemption = redemption


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: Redemption
    reward: Reward
    # True when the idempotency key had been used: ``redemption`` is the first one, and
    # nothing new was spent.
    replayed: bool
    # The coupon code the redemption handed out (rewards with a coupon pool).
    coupon_code: str | None = None


async def redeem_reward(
    *,
    member_id: int,
    reward_id: int,
    idempotency_key: str | None = None,
    default_cancel_window_hours: int = 0,
    now: datetime,
) -> Redeemed:
    """Spend a reward's cost from a member's balance and take one from its stock.

    One transaction: stock falls by ``UPDATE ... SET stock = stock - 1 WHERE stock > 0``
    and the balance by ``UPDATE ... SET points_balance = points_balance - cost WHERE
    points_balance >= cost``; when either matches no row, everything is rolled back and
    the failure is raised (OutOfStock, MemberInactive, InsufficientPoints). No value is
    read and written back, so concurrent redemptions can neither oversell nor overdraw (the
    row locks the UPDATEs take serialise them on PostgreSQL; SQLite serialises write transactions).
    A reward with a coupon pool then takes one free code (``take_coupon``; none left:
    CouponsExhausted, and the marketers are alerted).
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
    window = (
        reward.cancel_window_hours
        if reward.cancel_window_hours is not None
        else default_cancel_window_hours
    )
    coupon: tuple[int, str] | None = None
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
            # Last, after every check that could roll back: a code taken here is held by a
            # transaction that will almost surely commit, so concurrent takers are rarely
            # told "exhausted" for codes that come free again.
            if reward.issues_coupons:
                coupon = await take_coupon(conn, reward_id=reward.id, now=now)
                if coupon is None:
                    raise CouponsExhausted(reward.id)
            redemption = await Redemption.create(
                member_id=member_id,
                reward_id=reward.id,
                points=cost,
                idempotency_key=key,
                created_at=now,
                cancellable_until=cancellable_until(redeemed_at=now, window_hours=window),
                coupon_id=coupon[0] if coupon else None,
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
                    "coupon_code": coupon[1] if coupon else None,
                },
                created_at=now,
                using_db=conn,
            )
            await Notification.create(
                member_id=member_id,
                kind="reward_redeemed",
                title=f"You redeemed {reward.name}",
                body=f"{cost} points spent; {balance} points left."
                + (f" Your code: {coupon[1]}." if coupon else ""),
                data={
                    "reward": reward.code,
                    "redemptionId": redemption.id,
                    "points": cost,
                    **({"couponCode": coupon[1]} if coupon else {}),
                },
                created_at=now,
                using_db=conn,
            )
    except CouponsExhausted:
        await alert_exhausted(reward.id, now=now)
        raise
    except IntegrityError:
        # A concurrent retry with the same key committed first: this one spent nothing.
        if key is None or (first := await _first(member_id, key)) is None:
            raise
        return await _replay(first, reward_id=reward_id, key=key)
    outbox_written()
    return Redeemed(redemption, reward, replayed=False, coupon_code=coupon[1] if coupon else None)


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
    return Redeemed(
        first,
        await Reward.get(id=first.reward_id),
        replayed=True,
        coupon_code=await coupon_code_of(first),
    )


async def coupon_code_of(redemption: Redemption) -> str | None:
    """The code a redemption handed out (None: its reward has no coupon pool)."""
    if redemption.coupon_id is None:
        return None
    code: str = await (  # type: ignore[assignment]
        CouponCode.filter(id=redemption.coupon_id).first().values_list("code", flat=True)
    )
    return code


@dataclass(frozen=True, slots=True)
class Cancelled:
    redemption: Redemption
    reward: Reward
    # The member's balance after the refund.
    balance: int


async def cancel_redemption(
    *,
    redemption_id: int,
    reason: str,
    actor: Actor | None,
    member_id: int | None = None,
    now: datetime,
) -> Cancelled:
    """Cancel a redemption before its deadline and give its points back, exactly once.

    The redemption's state changes by one conditional UPDATE (status redeemed, deadline not
    passed): of concurrent cancellations one matches and refunds, the others find it
    cancelled (AlreadyCancelled). The refund is a ledger row of kind spend with a positive
    delta (a spend undone: the points flow nets it out of the points spent), unique by its
    key besides; the stock taken goes back; a coupon code
    handed out stays issued (the member has seen it). ``member_id``: the caller is that
    member, who may only cancel its own redemptions. Audited with ``actor``.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput.single("reason", "must not be empty")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput.single("reason", f"must be at most {MAX_REASON_LENGTH} characters")
    redemption = await get_or_not_found(Redemption, redemption_id)
    if member_id is not None and redemption.member_id != member_id:
        # Another member's redemption is not there for this one.
        raise NotFound("Redemption", redemption_id)
    async with in_transaction() as conn:
        async with audited(
            conn,
            actor=actor,
            action="redemption.cancel",
            now=now,
            target_type="Redemption",
            target_id=redemption.id,
        ) as change:
            cancelled = (
                await Redemption.filter(
                    id=redemption.id,
                    status=RedemptionStatus.REDEEMED,
                    cancellable_until__gt=now,
                )
                .using_db(conn)
                .update(status=RedemptionStatus.CANCELLED, cancelled_at=now, cancel_reason=reason)
            )
            if not cancelled:
                current = await Redemption.get(id=redemption.id, using_db=conn)
                if current.status is RedemptionStatus.CANCELLED:
                    raise AlreadyCancelled(current)
                raise CancelWindowClosed(current)
            points = redemption.points
            await (
                Member.filter(id=redemption.member_id)
                .using_db(conn)
                .update(points_balance=F("points_balance") + points, updated_at=now)
            )
            # Tortoise types flat values_list results as tuples.
            balance: int = await (  # type: ignore[assignment]
                Member.filter(id=redemption.member_id)
                .using_db(conn)
                .first()
                .values_list("points_balance", flat=True)
            )
            reward = await Reward.get(id=redemption.reward_id, using_db=conn)
            if reward.stock is not None:
                await Reward.filter(id=reward.id).using_db(conn).update(stock=F("stock") + 1)
                reward.stock += 1
            await PointsLedgerEntry.create(
                member_id=redemption.member_id,
                delta=points,
                kind=LedgerKind.SPEND,
                reason=f"Refund: {reward.name}"[:MAX_REASON_LENGTH],
                source=LedgerSource.REDEMPTION,
                idempotency_key=f"redemption-{redemption.id}-refund",
                balance_after=balance,
                using_db=conn,
            )
            await OutboxMessage.create(
                topic="reward.cancelled",
                payload={
                    "member_id": redemption.member_id,
                    "reward_id": reward.id,
                    "reward_code": reward.code,
                    "redemption_id": redemption.id,
                    "points": points,
                    "balance": balance,
                    "reason": reason,
                },
                created_at=now,
                using_db=conn,
            )
            await Notification.create(
                member_id=redemption.member_id,
                kind="reward_cancelled",
                title=f"Your {reward.name} redemption is cancelled",
                body=f"{points} points are back; {balance} points to spend.",
                data={"reward": reward.code, "redemptionId": redemption.id, "points": points},
                created_at=now,
                using_db=conn,
            )
            redemption = await Redemption.get(id=redemption.id, using_db=conn)
            change.before = {"status": RedemptionStatus.REDEEMED.value}
            change.after = {
                "status": RedemptionStatus.CANCELLED.value,
                "reason": reason,
                "points_refunded": points,
                "member_id": redemption.member_id,
            }
    outbox_written()
    return Cancelled(redemption, reward, balance)
