"""Background workers at scale: a season's benefit granted to 1M members, set-based, against
a naive loop of one INSERT per member.

Creates a PostgreSQL database beside LAUREL_BENCH_POSTGRES_URL (``laurel_bench_<random>``,
dropped at the end), migrates it, bulk-loads ``--members`` members spread over the three
tiers of a ladder (INSERT ... SELECT generate_series) and a running season whose coupon
names all three tiers, and VACUUM ANALYZEs. Then, each ``--rounds`` times, with the grants
emptied before each timing:

- season grant: ``grant_season`` over every member (what ``season_boundaries`` does at a
  season's start), in batches of ``--batch`` member ids;
- season job, nothing new: ``grant_season`` again (the minutely job's steady cost: the
  cursor is at the newest member);
- season re-sweep: the same with the cursor reset, nothing missing (every batch conflicts);
- season expiry: ``expire_season`` over every grant at the season's end;
- naive loop: one ``BenefitGrant.create`` per member for the first ``--naive`` members
  (their tiers read in one query first), and the ratio of grants per second.

Sections are plain ``async def section(ctx) -> dict[str, float]`` functions listed in
SECTIONS, each leaving the database as it found it; another (tier evaluation) goes beside
them and sees the same context. Figures are the medians of the rounds.

    .venv/bin/python bench/workers.py [--members 1000000] [--rounds 3] [--naive 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
from _databases import POSTGRES_URL, bulk_members, figures_line, medians, migrated_postgres
from tortoise.exceptions import IntegrityError

from app.models import Benefit, BenefitGrant, Member, Season, SeasonalBenefit, Tier
from app.services.seasons.switch import BATCH, expire_season, grant_season
from app.services.tiers.ladder import publish_ladder
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from gamification.tiers.ladder import TierRule

LADDER = (
    TierRule("member", "Member", 0, 0, 0, Decimal("1.00")),
    TierRule("silver", "Silver", 1, 1_000, 800, Decimal("1.10")),
    TierRule("gold", "Gold", 2, 5_000, 4_000, Decimal("1.25")),
)


@dataclass
class Context:
    url: str
    members: int
    naive: int
    batch: int
    season: Season
    benefit: Benefit


async def raw(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def load(url: str, members: int) -> tuple[Season, Benefit]:
    now = datetime.now(UTC)
    await publish_ladder(
        tiers=LADDER, effective_at=now - timedelta(days=1), now=now - timedelta(days=1)
    )
    tiers = dict(await Tier.all().values_list("code", "id"))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            bulk_members(
                count="$4",
                tier_id="(ARRAY[$1, $2, $3]::bigint[])[n % 3 + 1]",
                joined_at="now() - interval '1 day'",
            ),
            tiers["member"],
            tiers["silver"],
            tiers["gold"],
            members,
        )
        await conn.execute("VACUUM ANALYZE member")
    finally:
        await conn.close()
    season = await Season.create(
        code="festival",
        name="Festival",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
    )
    coupon = await Benefit.create(
        code="lantern",
        name="Lantern coupon",
        kind=BenefitKind.COUPON,
        value={"code_prefix": "LNT", "percent": 8},
    )
    await SeasonalBenefit.create(
        season=season, benefit=coupon, tier_codes=["member", "silver", "gold"]
    )
    return season, coupon


async def empty_grants(ctx: Context) -> None:
    await raw(ctx.url, "TRUNCATE benefit_grant, season_switch", "VACUUM ANALYZE benefit_grant")


async def timed(work: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    started = time.perf_counter()
    done = await work()
    return time.perf_counter() - started, done


async def season_grants(ctx: Context) -> dict[str, float]:
    now = datetime.now(UTC)
    await empty_grants(ctx)
    grant, granted = await timed(
        lambda: grant_season(season=ctx.season, now=now, batch_size=ctx.batch)
    )
    assert granted == ctx.members, granted
    steady, nothing = await timed(
        lambda: grant_season(season=ctx.season, now=now, batch_size=ctx.batch)
    )
    assert nothing == 0, nothing
    await raw(ctx.url, "DELETE FROM season_switch")  # the re-sweep covers everyone again
    rerun, again = await timed(
        lambda: grant_season(season=ctx.season, now=now, batch_size=ctx.batch)
    )
    assert again == 0, again
    expire, expired = await timed(
        lambda: expire_season(season=ctx.season, now=ctx.season.ends_at, batch_size=ctx.batch)
    )
    assert expired == ctx.members, expired

    await empty_grants(ctx)

    async def naive() -> int:
        rows = await Member.filter(id__lte=ctx.naive).values_list("id", "tier__code")
        made = 0
        for member_id, _code in rows:  # every tier is eligible here
            try:
                await BenefitGrant.create(
                    member_id=member_id,
                    benefit_id=ctx.benefit.id,
                    source=GrantSource.SEASON,
                    source_ref=str(ctx.season.id),
                    valid_from=ctx.season.starts_at,
                    valid_to=ctx.season.ends_at,
                    status=GrantStatus.ACTIVE,
                )
                made += 1
            except IntegrityError:
                pass
        return made

    loop, looped = await timed(naive)
    assert looped == ctx.naive, looped
    await empty_grants(ctx)
    bulk_rate, naive_rate = granted / grant, looped / loop
    return {
        f"season grant, {ctx.members:,} members (s)": grant,
        "season grant (grants/s)": bulk_rate,
        "season job, nothing new (ms)": steady * 1000,
        "season re-sweep, nothing missing (s)": rerun,
        f"season expiry, {ctx.members:,} grants (s)": expire,
        f"naive loop, {ctx.naive:,} members (s)": loop,
        "naive loop (grants/s)": naive_rate,
        f"naive loop extrapolated to {ctx.members:,} (s)": ctx.members / naive_rate,
        "set-based / naive (grants per second)": bulk_rate / naive_rate,
    }


SECTIONS: list[Callable[[Context], Awaitable[dict[str, float]]]] = [season_grants]


async def main(args: argparse.Namespace) -> None:
    async with migrated_postgres(args.admin_url, redis_url=None) as settings:
        url = settings.database_url
        started = time.perf_counter()
        season, benefit = await load(url, args.members)
        print(f"loaded {args.members:,} members in {time.perf_counter() - started:.1f} s")
        ctx = Context(
            url=url,
            members=args.members,
            naive=args.naive,
            batch=args.batch,
            season=season,
            benefit=benefit,
        )
        rounds: list[dict[str, float]] = []
        for n in range(1, args.rounds + 1):
            figures: dict[str, float] = {}
            for section in SECTIONS:
                figures.update(await section(ctx))
            rounds.append(figures)
            print(f"round {n}: {figures_line(figures)}")
    print(f"\nmedians of {args.rounds} rounds, batches of {args.batch:,} member ids:")
    for key, median in medians(rounds).items():
        print(f"  {key:<48} {median:>12,.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--naive", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--admin-url", default=POSTGRES_URL)
    asyncio.run(main(parser.parse_args()))
