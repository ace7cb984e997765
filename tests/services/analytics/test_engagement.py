"""Task funnels and seasonal benefit uptake against hand-computed answers on a small fixed
programme (both backends)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from app.models import (
    Benefit,
    BenefitGrant,
    LadderVersion,
    Member,
    Season,
    TaskProgressRow,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.analytics.engagement import seasonal_benefit_uptake, task_funnel
from app.services.seasons.switch import expire_season
from app.services.tiers.ladder import publish_ladder
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from gamification.shared.calendar import Window
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
Z = factories.ZONE


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=Z)


async def move(member: Member, code: str, *, at: datetime, reason: TierChangeReason) -> None:
    """A tier change the ladder's evaluation (or an admin) would make."""
    version = await LadderVersion.get()
    tier = await Tier.get(ladder_version_id=version.id, code=code)
    await TierChange.create(
        member_id=member.id,
        from_tier_id=member.tier_id,
        to_tier_id=tier.id,
        reason=reason,
        ladder_version_id=version.id,
        changed_at=at,
    )
    await Member.filter(id=member.id).update(tier_id=tier.id)
    member.tier_id = tier.id


async def silver_on(member: Member, at: datetime) -> None:
    """A check-in that completes the 1,000-growth task: Silver at once."""
    await factories.event(member, "check_in", at=at, now=at)


async def programme():
    """The autumn season runs 1 to 31 October (local). Its task "share-twice" is for
    Silver and above: share 2 times in the season.

    A  joined 1 Sep, Silver 10 Sep, shares on 5 and 6 Oct      eligible, started, completed
    B  joined 5 Sep, never moves                                not eligible
    C  joined 5 Sep, Silver 15 Oct, shares on 20 Oct            eligible (moved in), started
    D  joined 20 Oct (mid-season), Silver 25 Oct                eligible (moved in)
    E  joined 1 Sep, Silver 5 Nov (after the season)            not eligible
    F  joined 1 Sep, Silver 2 Sep, demoted 20 Sep               not eligible
    G  joined 1 Sep, Silver 3 Sep, demoted 10 Oct               eligible (Silver at the start)
    """
    await publish_ladder(
        tiers=factories.LADDER, effective_at=local(2026, 1, 1), now=local(2026, 1, 1)
    )
    await factories.task(code="big", reward_growth=1_000)
    autumn = await Season.create(
        code="autumn", name="Autumn", starts_at=local(2026, 10, 1), ends_at=local(2026, 11, 1)
    )
    share = await factories.task(
        code="share-twice",
        event_type="share",
        target=2,
        window=Window.SEASON,
        season=autumn,
        min_tier_rank=1,
    )
    names = "ABCDEFG"
    joined = [(9, 1), (9, 5), (9, 5), (10, 20), (9, 1), (9, 1), (9, 1)]
    m = {
        n: await factories.member(display_name=n, joined_at=local(2026, month, day, 10))
        for n, (month, day) in zip(names, joined, strict=True)
    }
    await silver_on(m["A"], local(2026, 9, 10, 12))
    await silver_on(m["C"], local(2026, 10, 15, 12))
    await silver_on(m["D"], local(2026, 10, 25, 12))
    await silver_on(m["E"], local(2026, 11, 5, 12))
    await silver_on(m["F"], local(2026, 9, 2, 12))
    await silver_on(m["G"], local(2026, 9, 3, 12))
    for member in m.values():
        await member.refresh_from_db()
    await move(m["F"], "member", at=local(2026, 9, 20), reason=TierChangeReason.DEMOTION)
    await move(m["G"], "member", at=local(2026, 10, 10), reason=TierChangeReason.DEMOTION)
    for n, at in (
        ("A", local(2026, 10, 5, 9)),
        ("A", local(2026, 10, 6, 9)),
        ("C", local(2026, 10, 20, 9)),
    ):
        await factories.event(m[n], "share", at=at, now=at)
    return autumn, share, m


def funnel(rows):
    return [(r.code, r.eligible, r.started, r.completed, r.completions) for r in rows]


async def test_a_seasonal_task_funnel_counts_who_was_in_its_audience_during_the_season():
    autumn, _, _ = await programme()

    rows = await task_funnel(now=local(2026, 12, 1), season_id=autumn.id)

    assert funnel(rows) == [("share-twice", 4, 2, 1, 1)]
    assert rows[0].starts_at == local(2026, 10, 1) and rows[0].ends_at == local(2026, 11, 1)


async def test_a_running_task_is_counted_up_to_now():
    _, share, _ = await programme()

    # On 20 Oct at noon: A and G held Silver at the start, C moved in on the 15th; D
    # had not yet been promoted. C's share that morning counts.
    rows = await task_funnel(now=local(2026, 10, 20, 12), task_id=share.id)

    assert funnel(rows) == [("share-twice", 3, 2, 1, 1)]


async def test_an_open_task_counts_everyone_who_was_ever_in_its_audience():
    _, _, m = await programme()
    shares = await factories.task(code="share-once", event_type="share", window=Window.LIFETIME)
    at = local(2026, 11, 20, 9)
    await factories.event(m["B"], "share", at=at, now=at)

    rows = await task_funnel(now=local(2026, 12, 1), task_id=shares.id)

    # All seven members were in its audience; only B shared after it was created.
    assert funnel(rows) == [("share-once", 7, 1, 1, 1)]
    everything = await task_funnel(now=local(2026, 12, 1))
    assert [r.code for r in everything] == ["big", "share-twice", "share-once"]
    # The growth task every check-in completes: six members checked in once.
    assert funnel(everything)[0] == ("big", 7, 6, 6, 6)


async def test_a_member_who_progressed_outside_the_audience_is_started_but_not_eligible():
    autumn, share, m = await programme()
    # B was never Silver; progress written anyway (say, the audience was narrowed later).
    await TaskProgressRow.create(
        member_id=m["B"].id,
        task_id=share.id,
        window_key=f"season:{autumn.id}",
        count=1,
        updated_at=local(2026, 10, 12),
    )

    rows = await task_funnel(now=local(2026, 12, 1), task_id=share.id)

    # Eligibility is the tier history's answer alone: B counts as started, not eligible.
    assert funnel(rows) == [("share-twice", 4, 3, 1, 1)]


async def test_eligible_equals_a_replay_of_every_members_tier_history():
    """Random histories (enrolments, moves up and down, moves into a second ladder
    version's tiers, moves at the very instants tasks start and end) against a replay of
    each member's stays in Python, for tasks of every kind of audience and schedule."""
    rng = random.Random(20261125)
    base = local(2026, 3, 1)
    grid = [base + timedelta(days=k) for k in range(20)]
    now = grid[16]
    await publish_ladder(
        tiers=factories.LADDER, effective_at=local(2026, 1, 1), now=local(2026, 1, 1)
    )
    await publish_ladder(
        tiers=factories.LADDER, effective_at=local(2026, 3, 10), now=local(2026, 1, 1)
    )
    tiers = await Tier.all()
    for _ in range(40):
        member = await factories.member(joined_at=rng.choice(grid[:15]))
        moves = sorted(rng.sample(grid, rng.randint(0, 6)))
        for at in (at for at in moves if at >= member.joined_at):
            to = rng.choice([t for t in tiers if t.id != member.tier_id])
            await TierChange.create(
                member_id=member.id,
                from_tier_id=member.tier_id,
                to_tier_id=to.id,
                reason=TierChangeReason.MANUAL,
                ladder_version_id=to.ladder_version_id,
                changed_at=at,
            )
            member.tier_id = to.id
        await Member.filter(id=member.id).update(tier_id=member.tier_id)
    ranks = [None, 0, 1, 2]
    tasks = []
    for _ in range(30):
        low, high = sorted(rng.sample(ranks[1:], 2)) if rng.random() < 0.5 else (None, None)
        low = rng.choice([low, None]) if low is not None else None
        starts = None if rng.random() < 0.25 else rng.choice(grid[:18])
        ends = rng.choice([None, *(at for at in grid if starts is None or at > starts)])
        tasks.append(
            await factories.task(
                min_tier_rank=low, max_tier_rank=high, starts_at=starts, ends_at=ends
            )
        )

    rows = {r.task_id: r.eligible for r in await task_funnel(now=now)}

    rank = {t.id: t.rank for t in tiers}
    history: dict[int, list[TierChange]] = {}
    for change in await TierChange.all().order_by("changed_at", "id"):
        history.setdefault(change.member_id, []).append(change)
    by_member = {  # each member's stays: rank, from, until
        member_id: [
            (rank[c.to_tier_id], c.changed_at, nxt.changed_at if nxt else None)
            for c, nxt in zip(changes, [*changes[1:], None], strict=True)
        ]
        for member_id, changes in history.items()
    }
    expected = {}
    for task in tasks:
        s, e = task.starts_at, min(task.ends_at or now, now)
        low = -1 if task.min_tier_rank is None else task.min_tier_rank
        high = 99 if task.max_tier_rank is None else task.max_tier_rank
        expected[task.id] = (
            0
            if s is not None and s >= e
            else sum(
                any(
                    low <= r <= high and at < e and (until is None or s is None or until > s)
                    for r, at, until in stays
                )
                for stays in by_member.values()
            )
        )
    assert rows == expected
    assert len(set(expected.values())) > 5  # the draw covers more than a few answers


async def test_a_task_that_has_not_started_has_an_empty_funnel():
    await programme()
    winter = await factories.task(
        code="winter-share", event_type="share", starts_at=local(2027, 1, 1)
    )

    assert funnel(await task_funnel(now=local(2026, 12, 1), task_id=winter.id)) == [
        ("winter-share", 0, 0, 0, 0)
    ]
    assert await task_funnel(now=local(2026, 12, 1), task_id=winter.id + 1_000) == []


def uptake(rows):
    return [
        (r.season_code, r.benefit_code, r.tier_code, r.granted, r.used, r.expired, r.active)
        for r in rows
    ]


async def grant(member: Member, benefit: Benefit, season: Season, tier: str) -> BenefitGrant:
    """A grant as the season job (or a promotion) writes it, for the member's tier then."""
    return await BenefitGrant.create(
        member_id=member.id,
        benefit_id=benefit.id,
        source=GrantSource.SEASON,
        source_ref=str(season.id),
        valid_from=season.starts_at,
        valid_to=season.ends_at,
        tier_code=tier,
    )


async def test_seasonal_benefit_uptake_per_tier_the_grants_were_for():
    autumn, _, m = await programme()
    coupon = await Benefit.create(
        code="festival", name="Festival coupon", kind=BenefitKind.COUPON, value={"percent": 10}
    )
    # H: Silver before the season, Gold only after it.
    h = await factories.member(display_name="H", joined_at=local(2026, 9, 1, 10))
    await silver_on(h, local(2026, 9, 4, 12))
    await h.refresh_from_db()
    await move(h, "gold", at=local(2026, 11, 10), reason=TierChangeReason.MANUAL)
    # Granted to Silver members at the start (A, G, H) and on promotion to Silver (C); A and
    # G used theirs. P, a Gold member at the start, got the Gold grant.
    for name in ("A", "C", "G"):
        await grant(m[name], coupon, autumn, "silver")
    await grant(h, coupon, autumn, "silver")
    p = await factories.member(display_name="P", joined_at=local(2026, 9, 1, 10))
    await grant(p, coupon, autumn, "gold")
    await BenefitGrant.filter(member_id__in=[m["A"].id, m["G"].id]).update(
        status=GrantStatus.USED, used_at=local(2026, 10, 8)
    )
    # Grants of other sources are not seasonal uptake.
    await BenefitGrant.create(
        member_id=m["A"].id,
        benefit_id=coupon.id,
        source=GrantSource.TIER,
        source_ref="silver",
        valid_from=local(2026, 9, 10),
    )
    later = local(2026, 12, 1)

    # C's and H's grants are past their validity though the season job has not run yet.
    before_the_job = await seasonal_benefit_uptake(now=later, season_id=autumn.id)
    await expire_season(season=autumn, now=later)
    after_the_job = await seasonal_benefit_uptake(now=later)

    expected = [
        # A, C, G and H, whatever they hold later (G a Member since 10 Oct, H Gold since
        # 10 Nov); then Gold (tiers in ladder order).
        ("autumn", "festival", "silver", 4, 2, 2, 0),
        ("autumn", "festival", "gold", 1, 0, 1, 0),
    ]
    assert uptake(before_the_job) == expected
    assert uptake(after_the_job) == expected


async def test_uptake_of_a_running_season():
    _, _, m = await programme()
    winter = await Season.create(
        code="winter", name="Winter", starts_at=local(2026, 11, 20), ends_at=local(2027, 1, 1)
    )
    ship = await Benefit.create(
        code="ship", name="Free shipping", kind=BenefitKind.FREE_SHIPPING, value={}
    )
    await grant(m["A"], ship, winter, "silver")
    await grant(m["E"], ship, winter, "silver")
    await BenefitGrant.filter(member_id=m["E"].id).update(status=GrantStatus.USED)

    rows = await seasonal_benefit_uptake(now=local(2026, 12, 1), season_id=winter.id)

    assert uptake(rows) == [("winter", "ship", "silver", 2, 1, 0, 1)]
    assert await seasonal_benefit_uptake(now=local(2026, 12, 1), season_id=winter.id + 99) == []
