"""The tier evaluation at scale: set-based over 1M members against a naive per-member loop.

Creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (``laurel_bench_<random>``,
dropped at the end), migrates it and bulk-loads ``--members`` members: 60% Member, 28%
Silver, 12% Gold, growth spread so that about a third of Silver and Gold members sit below
retention, and one tier benefit grant for each Silver and Gold member. Then, each
``--rounds`` times (state restored and vacuumed between runs, outside the timings):

- naive: the first ``--naive`` members judged one by one, a transaction each (read the
  member, decide, update, tier change, notification, outbox row, benefits), via the ORM;
- set-based: ``apply_evaluation`` over all members (the scheduled job's work).

and the medians, with the per-member ratio of the two.

    .venv/bin/python bench/evaluation.py [--members 1000000] [--naive 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import asyncpg
from _databases import bulk_members, figures_line, medians, migrated_postgres
from tortoise.transactions import in_transaction

from app.models import (
    BenefitGrant,
    Member,
    Notification,
    OutboxMessage,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.tiers.evaluation import EvaluationPolicy, apply_evaluation
from app.services.tiers.ladder import publish_ladder
from gamification.benefits import GrantSource, GrantStatus
from gamification.tiers.evaluation import demotion_notice, demotion_target
from gamification.tiers.ladder import TierRule

LADDER = (
    TierRule("member", "Member", 0, 0, 0, 1),
    TierRule("silver", "Silver", 1, 1_000, 800, 1),
    TierRule("gold", "Gold", 2, 5_000, 4_000, 1),
)
EVALUATED = date(2026, 12, 1)
POLICY = EvaluationPolicy(zone=ZoneInfo("Asia/Shanghai"))


async def load(database_url: str, members: int) -> None:
    """Bulk rows straight into the tables: the services would take hours for a million."""
    at = datetime(2020, 1, 1, tzinfo=UTC)
    version = await publish_ladder(tiers=LADDER, effective_at=at, now=at)
    ids = {t.code: t.id for t in await Tier.filter(ladder_version_id=version.id)}
    conn = await asyncpg.connect(database_url)
    try:
        # Per hundred members: 60 Member, 28 Silver (growth 600..1,599: ~20% below 800),
        # 12 Gold (growth 2,500..6,499: ~38% below 4,000).
        await conn.execute(
            bulk_members(
                count="$4::bigint",
                tier_id="CASE WHEN n % 100 < 60 THEN $1::int WHEN n % 100 < 88 THEN $2::int "
                "ELSE $3::int END",
                growth="CASE WHEN n % 100 < 60 THEN (n * 7) % 900 "
                "WHEN n % 100 < 88 THEN 600 + (n * 7919) % 1000 "
                "ELSE 2500 + (n * 7919) % 4000 END",
            ),
            ids["member"],
            ids["silver"],
            ids["gold"],
            members,
        )
        for code in ("silver", "gold"):
            benefit_id = await conn.fetchval(
                "INSERT INTO benefit (code, name, description, kind, value, created_at) "
                "VALUES ($1, $1, '', 'priority_service', '{}', now()) RETURNING id",
                f"{code}-lounge",
            )
            await conn.execute(
                "INSERT INTO tier_benefit (tier_code, benefit_id) VALUES ($1, $2)", code, benefit_id
            )
            await conn.execute(
                "INSERT INTO benefit_grant (member_id, benefit_id, source, source_ref, "
                "valid_from, status) SELECT id, $1, 'tier', $2, now(), 'active' "
                "FROM member WHERE tier_id = $3",
                benefit_id,
                code,
                ids[code],
            )
        await conn.execute("CREATE TABLE bench_start AS SELECT id, tier_id FROM member")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def restore(database_url: str) -> None:
    """Undo a run: tiers back, what the evaluation wrote gone, grants active again."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE member m SET tier_id = s.tier_id FROM bench_start s "
            "WHERE s.id = m.id AND m.tier_id <> s.tier_id"
        )
        await conn.execute(
            "TRUNCATE tier_evaluation_member, tier_evaluation, tier_change, notification, outbox"
        )
        await conn.execute(
            "UPDATE benefit_grant SET status = 'active', valid_to = NULL "
            "WHERE status <> 'active' OR valid_to IS NOT NULL"
        )
        await conn.execute("VACUUM ANALYZE member")
        await conn.execute("VACUUM ANALYZE benefit_grant")
    finally:
        await conn.close()


async def naive(count: int) -> tuple[float, int]:
    """The obvious loop: each member read, judged and written in its own transaction."""
    tiers = {t.id: t for t in await Tier.all()}
    by_rank = {t.rank: t for t in tiers.values()}
    ladder = [t.to_rule() for t in sorted(tiers.values(), key=lambda t: t.rank)]
    now = datetime.now(UTC)
    demoted = 0
    started = time.perf_counter()
    for member_id in await Member.filter(id__lte=count).order_by("id").values_list("id", flat=True):
        async with in_transaction() as conn:
            member = await Member.filter(id=member_id).using_db(conn).select_for_update().get()
            current = tiers[member.tier_id]
            target = demotion_target(ladder, current=current.to_rule(), growth=member.growth)
            if target.rank == current.rank:
                continue
            lower = by_rank[target.rank]
            await Member.filter(id=member.id).using_db(conn).update(tier_id=lower.id)
            await TierChange.create(
                member_id=member.id,
                from_tier_id=current.id,
                to_tier_id=lower.id,
                reason=TierChangeReason.DEMOTION,
                ladder_version_id=current.ladder_version_id,
                changed_at=now,
                using_db=conn,
            )
            notice = demotion_notice(current=current.to_rule(), lower=target, evaluated=EVALUATED)
            await Notification.create(
                member_id=member.id,
                kind="tier_down",
                title=notice.title,
                body=notice.body,
                data={"from": current.code, "to": lower.code},
                created_at=now,
                using_db=conn,
            )
            await OutboxMessage.create(
                topic="leaderboard.member_changed",
                payload={
                    "member_id": member.id,
                    "tierChange": {"from": current.code, "to": lower.code},
                },
                created_at=now,
                using_db=conn,
            )
            await (
                BenefitGrant.filter(
                    member_id=member.id,
                    source=GrantSource.TIER,
                    source_ref=current.code,
                    status=GrantStatus.ACTIVE,
                )
                .using_db(conn)
                .update(status=GrantStatus.EXPIRED, valid_to=now)
            )
            demoted += 1
    return time.perf_counter() - started, demoted


async def set_based() -> tuple[float, int]:
    started = time.perf_counter()
    demoted = await apply_evaluation(evaluated=EVALUATED, policy=POLICY, now=datetime.now(UTC))
    return time.perf_counter() - started, demoted


async def main(args: argparse.Namespace) -> None:
    async with migrated_postgres() as settings:
        database_url = settings.database_url
        started = time.perf_counter()
        await load(database_url, args.members)
        print(f"loaded {args.members:,} members in {time.perf_counter() - started:.1f}s")
        rows: list[dict[str, float]] = []
        for round_ in range(1, args.rounds + 1):
            naive_s, naive_n = await naive(args.naive)
            await restore(database_url)
            set_s, set_n = await set_based()
            await restore(database_url)
            per_naive = naive_s / args.naive
            per_set = set_s / args.members
            rows.append(
                {
                    "set-based s": set_s,
                    "set-based demoted": set_n,
                    "naive s": naive_s,
                    "naive demoted": naive_n,
                    "naive s, 1M extrapolated": per_naive * 1_000_000,
                    "ratio per member": per_naive / per_set,
                }
            )
            print(f"round {round_}: {figures_line(rows[-1])}", flush=True)
    print(
        f"\nmedians of {args.rounds} rounds, {args.members:,} members "
        f"(naive over the first {args.naive:,}):"
    )
    for key, median in medians(rows).items():
        print(f"  {key:26} {median:,.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
