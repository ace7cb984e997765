"""Coupon pools: the unique codes a reward hands out, one per redemption.

Codes are added by generating them from a pattern or importing them (a CSV file, the CLI
or a mutation); the pool's unique (reward, code) decides which are new, so an import run
twice adds nothing the second time. A redemption takes a code with one conditional UPDATE
of the oldest free code (PostgreSQL: the subquery skips codes other redemptions hold, so
concurrent redemptions each take a different one without waiting); when none is left the
redemption is refused (CouponsExhausted) and the marketers are told once: an audit entry and
a ``reward.coupons_exhausted`` outbox row (a webhook event), the first time the pool is
found empty after codes were last added.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.dialect import Dialect
from app.models import CouponCode, OutboxMessage, Reward
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput, ServiceError
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from gamification.rewards import (
    MAX_COUPONS_PER_CALL,
    check_coupon_code,
    check_coupon_pattern,
    coupon_codes,
)
from gamification.shared.problems import Problem

SYSTEM = Actor(subject="laurel:rewards", role="system")
# Problems listed for an import before the rest are summed up as a count.
MAX_LISTED_PROBLEMS = 20


class CouponsExhausted(ServiceError):
    """The reward hands out coupon codes and none is left; nothing was spent."""

    def __init__(self, reward_id: int) -> None:
        super().__init__("no coupon code of the reward is left")
        self.reward_id = reward_id


@dataclass(frozen=True, slots=True)
class CouponPool:
    """How many codes a reward's pool holds, and how many are still free."""

    total: int
    remaining: int

    @property
    def issued(self) -> int:
        return self.total - self.remaining


@dataclass(frozen=True, slots=True)
class CouponsAdded:
    reward: Reward
    # New codes; codes already in the pool are skipped (and counted apart).
    added: int
    duplicates: int
    pool: CouponPool


async def coupon_pool(reward_id: int, *, conn: BaseDBAsyncClient | None = None) -> CouponPool:
    """The size of a reward's pool and how much of it is left."""
    total = await CouponCode.filter(reward_id=reward_id).using_db(conn).count()
    remaining = (
        await CouponCode.filter(reward_id=reward_id, issued_at__isnull=True).using_db(conn).count()
    )
    return CouponPool(total=total, remaining=remaining)


async def generate_coupons(
    *, reward_id: int, pattern: str, count: int, actor: Actor | None, now: datetime
) -> CouponsAdded:
    """Add ``count`` new random codes made from ``pattern`` (``SHOE-####-????``) to the pool.

    Codes that happen to be in the pool already are drawn again, so exactly ``count`` are
    added (the pattern must offer a hundred times more codes than asked for).
    """
    problems = check_coupon_pattern(pattern, count)
    if problems:
        raise InvalidInput(problems)
    rng = random.SystemRandom()
    return await _add(
        reward_id=reward_id,
        draw=lambda n: coupon_codes(pattern, n, rng=rng),
        wanted=count,
        codes=None,
        actor=actor,
        action="reward.coupons_generate",
        details={"pattern": pattern, "count": count},
        now=now,
    )


def codes_from_csv(text: str, *, limit: int | None = MAX_COUPONS_PER_CALL) -> list[str]:
    """The codes of a CSV file: the first column of each row, a header row ``code`` skipped,
    blank rows ignored; the problems (a bad code, with its line; more than ``limit`` codes)
    raise InvalidInput."""
    codes: list[str] = []
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for line, row in enumerate(reader, start=1):
            cell = row[0].strip() if row else ""
            if not cell or (line == 1 and cell.lower() == "code"):
                continue
            if (why := check_coupon_code(cell)) is not None:
                problems.append(Problem("csv", f"line {line}: {cell[:80]!r} {why}"))
            else:
                codes.append(cell)
    except csv.Error as error:
        problems.append(Problem("csv", f"line {reader.line_num}: {error}"))
    if len(problems) > MAX_LISTED_PROBLEMS:
        extra = len(problems) - MAX_LISTED_PROBLEMS
        problems = [*problems[:MAX_LISTED_PROBLEMS], Problem("csv", f"and {extra} more")]
    if not problems and not codes:
        problems.append(Problem("csv", "holds no codes"))
    if not problems and limit is not None and len(codes) > limit:
        problems.append(Problem("csv", f"must hold at most {limit} codes"))
    if problems:
        raise InvalidInput(problems)
    return codes


async def import_coupons(
    *, reward_id: int, codes: Iterable[str], actor: Actor | None, now: datetime
) -> CouponsAdded:
    """Add the given codes (checked by ``codes_from_csv``) to the pool; those already in it
    are skipped, so an import run again adds nothing."""
    unique = list(dict.fromkeys(codes))
    return await _add(
        reward_id=reward_id,
        draw=None,
        wanted=0,
        codes=unique,
        actor=actor,
        action="reward.coupons_import",
        details={"codes": len(unique)},
        now=now,
    )


async def _add(
    *,
    reward_id: int,
    draw: Callable[[int], list[str]] | None,
    wanted: int,
    codes: list[str] | None,
    actor: Actor | None,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> CouponsAdded:
    async with in_transaction() as conn:
        # The lock serialises additions to one pool, so the counts below are exact.
        reward = await get_locked_or_not_found(Reward, reward_id, conn=conn)
        if reward.archived_at is not None:
            raise InvalidInput.single("rewardId", "an archived reward takes no codes")
        async with audited(
            conn, actor=actor, action=action, now=now, target_type="Reward", target_id=reward.id
        ) as change:
            before = await coupon_pool(reward.id, conn=conn)
            if codes is not None:
                offered = len(codes)
                await _insert(conn, reward.id, codes, now)
            else:
                assert draw is not None
                offered = 0
                # Draws that collide with codes in the pool are drawn again; a pattern offers
                # a hundred times more codes than asked for, so a few rounds suffice.
                for _ in range(20):
                    now_in_pool = (await coupon_pool(reward.id, conn=conn)).total
                    missing = before.total + wanted - now_in_pool
                    if missing <= 0:
                        break
                    fresh = draw(missing)
                    offered += len(fresh)
                    await _insert(conn, reward.id, fresh, now)
            pool = await coupon_pool(reward.id, conn=conn)
            added = pool.total - before.total
            if added:
                # New codes: the next time the pool runs dry, the marketers are told again.
                await Reward.filter(id=reward.id).using_db(conn).update(coupons_exhausted_at=None)
                reward.coupons_exhausted_at = None
            change.before = {"total": before.total, "remaining": before.remaining}
            change.after = {"total": pool.total, "remaining": pool.remaining, **details}
    return CouponsAdded(reward=reward, added=added, duplicates=offered - added, pool=pool)


async def _insert(conn: BaseDBAsyncClient, reward_id: int, codes: list[str], now: datetime) -> None:
    d = Dialect(conn)
    rows = [[reward_id, code, now] for code in codes]
    for statement in d.insert(
        "coupon_code",
        ("reward_id", "code", "created_at"),
        rows,
        conflict="ON CONFLICT (reward_id, code) DO NOTHING",
    ):
        await conn.execute_query(d.numbered(statement.sql), statement.params)


async def take_coupon(
    conn: BaseDBAsyncClient, *, reward_id: int, now: datetime
) -> tuple[int, str] | None:
    """Take the oldest free code of the pool in ``conn``'s transaction: its id and code, or
    None when none is left. One UPDATE: the code is issued by the statement that finds it
    free; on PostgreSQL the subquery passes over codes other transactions are taking."""
    d = Dialect(conn)
    rows = await conn.execute_query_dict(
        d.numbered(
            "UPDATE coupon_code SET issued_at = ? WHERE id = ("
            "SELECT id FROM coupon_code WHERE reward_id = ? AND issued_at IS NULL "
            f"ORDER BY id LIMIT 1{d.skip_locked}) AND issued_at IS NULL RETURNING id, code"
        ),
        [d.param(now), reward_id],
    )
    if not rows:
        return None
    return int(rows[0]["id"]), str(rows[0]["code"])


async def alert_exhausted(reward_id: int, *, now: datetime) -> bool:
    """Tell the marketers a reward's pool is empty, once until codes are added: an audit
    entry and a ``reward.coupons_exhausted`` outbox row. True when this call told them."""
    async with in_transaction() as conn:
        reward = await get_or_not_found(Reward, reward_id)
        async with audited(
            conn,
            actor=SYSTEM,
            action="reward.coupons_exhausted",
            now=now,
            target_type="Reward",
            target_id=reward_id,
        ) as change:
            # Conditional: of many refused redemptions, one records the alert.
            if not await (
                Reward.filter(id=reward_id, coupons_exhausted_at__isnull=True)
                .using_db(conn)
                .update(coupons_exhausted_at=now)
            ):
                change.unchanged()
                return False
            pool = await coupon_pool(reward_id, conn=conn)
            change.before = {"remaining": 0}
            change.after = {"remaining": 0, "total": pool.total, "code": reward.code}
            await OutboxMessage.create(
                topic="reward.coupons_exhausted",
                payload={
                    "reward_id": reward_id,
                    "reward_code": reward.code,
                    "issued": pool.issued,
                },
                created_at=now,
                using_db=conn,
            )
    outbox_written()
    return True
