"""Merging two members who are one person (enrolled twice): everything the duplicate has
moves to the survivor, in one audited transaction.

Both member rows are locked first, in id order (as the event path locks them, so the two
never deadlock): an event for either member waits for the merge, and then sees the merged
state. What moves, and how it adds up (the rules are in gamification/members.py):

- points: the ledger is append-only, so its rows stay where they are and a pair of
  ``transfer`` rows moves the balance (out of the duplicate, into the survivor); lifetime
  points and growth are added to the survivor's by one UPDATE, the duplicate's set to 0.
  Each member's balance stays the sum of its own ledger;
- events (so a later reversal takes back from the survivor), task completions, tier
  history, the inbox, redemptions and benefit grants change owner; a grant or a redemption
  the survivor holds under the same key already stays with the duplicate (never twice);
- task progress and member facts are combined, active days are the union (``INSERT ... ON
  CONFLICT DO NOTHING``), badge levels the union of both and any level the combined facts
  now reach; the duplicate keeps none of them;
- leaderboard scores are added to the survivor's (the later of the two ``reached`` times);
  the duplicate's stay, hidden with it: it leaves every board as a deactivated member does;
- the survivor's tier: the higher of the two, then promoted (in this transaction, with its
  benefits, as an event promotes) as far as the combined growth and facts reach;
- the duplicate is deactivated for good, on the base tier, ``merged_into`` the survivor
  (so no job judges it): its external id resolves to the survivor, its member id is
  refused (``MemberMergedAway``), and members merged into it before now point at the
  survivor (no chains).

The merge is audited (``member.merge``) and announced by a ``member.merged`` outbox row
(the board index and the webhook of that name read it). Merging the same pair again
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.dialect import Dialect, Statement
from app.models import (
    Badge,
    LadderVersion,
    Member,
    MemberBadge,
    MemberFact,
    Notification,
    OutboxMessage,
    PointsLedgerEntry,
    TaskProgressRow,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.benefits.grants import grant_running_season_benefits, grant_tier_benefits
from app.services.leaderboards.boards import change_standing
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput, MemberInactive, MemberMergedAway
from app.services.shared.lookups import get_locked_or_not_found
from app.services.tiers.ladder import ladder_in_force, tiers_in_force
from gamification.activity.engine import NoticeKind
from gamification.badges import BadgeMetric
from gamification.members import check_merge, combine_facts, combine_progress
from gamification.points.ledger import LedgerKind, LedgerSource
from gamification.tasks import TaskProgress
from gamification.tiers.ladder import promotion_target

# Outbox topic of a merge; the webhook event of the same name is made from it.
MERGED = "member.merged"


@dataclass(frozen=True, slots=True)
class Merge:
    survivor: Member
    duplicate: Member
    # False when the duplicate was merged into the survivor before: nothing was written.
    changed: bool


async def merge_members(
    *, survivor_id: int, duplicate_id: int, actor: Actor | None, now: datetime
) -> Merge:
    """Merge ``duplicate_id`` into ``survivor_id`` (see the module's docstring for what
    moves); idempotent. Refused: the same member twice (``InvalidInput``), a member merged
    away already, on either side (``MemberMergedAway``), a deactivated survivor
    (``MemberInactive``)."""
    problems = check_merge(survivor_id=survivor_id, duplicate_id=duplicate_id)
    if problems:
        raise InvalidInput(problems)
    async with in_transaction() as conn:
        # Members merged into the duplicate before are moved on to the survivor: their rows
        # are locked too, all in id order, as an event sent under one of their external ids
        # locks it beside the duplicate (in id order): the two never wait for each other.
        # Tortoise types flat values_list results as tuples.
        merged_in: list[int] = await (  # type: ignore[assignment]
            Member.filter(merged_into_id=duplicate_id).using_db(conn).values_list("id", flat=True)
        )
        locked = {}
        for member_id in sorted({survivor_id, duplicate_id, *merged_in}):
            locked[member_id] = await get_locked_or_not_found(Member, member_id, conn=conn)
        survivor, duplicate = locked[survivor_id], locked[duplicate_id]
        if duplicate.merged_into_id == survivor.id:
            return Merge(survivor, duplicate, changed=False)
        for member in (duplicate, survivor):
            if member.merged_into_id is not None:
                raise MemberMergedAway(member.id, member.merged_into_id)
        if survivor.deactivated_at is not None:
            raise MemberInactive(survivor.id)
        async with audited(
            conn,
            actor=actor,
            action="member.merge",
            target_type="Member",
            target_id=survivor.id,
            now=now,
        ) as change:
            change.before = {"survivor": _audited(survivor), "duplicate": _audited(duplicate)}
            outcome = await _merge(conn, survivor, duplicate, now=now)
            survivor = await Member.get(id=survivor_id, using_db=conn)
            duplicate = await Member.get(id=duplicate_id, using_db=conn)
            change.after = {
                "survivor": _audited(survivor),
                "duplicate": _audited(duplicate),
                "moved": outcome,
            }
    outbox_written()
    return Merge(survivor, duplicate, changed=True)


def _audited(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "external_id": member.external_id,
        "points_balance": member.points_balance,
        "lifetime_points": member.lifetime_points,
        "growth": member.growth,
        "tier_id": member.tier_id,
        "merged_into_id": member.merged_into_id,
    }


async def _merge(
    conn: BaseDBAsyncClient, survivor: Member, duplicate: Member, *, now: datetime
) -> dict[str, Any]:
    """Move everything; return what moved (for the audit entry)."""
    d = Dialect(conn)
    s, dup = survivor.id, duplicate.id
    facts = await _combine_facts(conn, d, s, dup)
    await _combine_progress(conn, d, s, dup, now=now)
    await _union_active_days(conn, d, s, dup)
    moved = await _change_owner(conn, d, s, dup)
    scores = await _add_scores(conn, d, s, dup)
    balance = await _move_points(conn, survivor, duplicate)
    # Placed before the duplicate loses its tier: the higher of the two is kept.
    tier_change = await _place_on_ladder(conn, survivor, duplicate, facts, now=now)
    tiers = await tiers_in_force(now=now, using_db=conn)
    await (
        Member.filter(id=dup)
        .using_db(conn)
        .update(
            # Left on the base tier with no growth (its history is the survivor's now): the
            # tier evaluation has nothing to warn it of or demote it from.
            tier_id=tiers[0].id if tiers else duplicate.tier_id,
            lifetime_points=0,
            growth=0,
            merged_into_id=s,
            deactivated_at=duplicate.deactivated_at or now,
            deactivation_reason=f"Merged into member {survivor.external_id}"[:200],
            updated_at=now,
        )
    )
    # Members merged into the duplicate before now resolve to the survivor: no chains.
    await Member.filter(merged_into_id=dup).using_db(conn).update(merged_into_id=s)
    await change_standing(conn, member_id=dup, changes={"member_active": False}, now=now)
    await _union_badges(conn, d, s, dup, facts, now=now)
    await OutboxMessage.create(
        topic=MERGED,
        payload={
            "member_id": s,
            "duplicate_id": dup,
            "duplicate_external_id": duplicate.external_id,
            "points": duplicate.points_balance,
            "lifetime_points": duplicate.lifetime_points,
            "growth": duplicate.growth,
            "balance": balance,
            "tierChange": tier_change,
            "scores": scores,
        },
        created_at=now,
        using_db=conn,
    )
    return {
        "points": duplicate.points_balance,
        "lifetime_points": duplicate.lifetime_points,
        "growth": duplicate.growth,
        "rows": moved,
        "tier_change": tier_change,
    }


async def _run(conn: BaseDBAsyncClient, d: Dialect, sql: str, params: list[Any]) -> None:
    await conn.execute_query(d.numbered(sql), [d.param(p) for p in params])


async def _combine_facts(conn: BaseDBAsyncClient, d: Dialect, s: int, dup: int) -> dict[str, int]:
    rows = await MemberFact.filter(member_id__in=[s, dup]).using_db(conn)
    mine = {f.key: int(f.value) for f in rows if f.member_id == s}
    theirs = {f.key: int(f.value) for f in rows if f.member_id == dup}
    combined = combine_facts(mine, theirs)
    changed = [[s, k, v] for k, v in sorted(combined.items()) if mine.get(k) != v]
    statements = d.insert(
        "member_fact",
        ("member_id", "key", "value"),
        changed,
        "ON CONFLICT (member_id, key) DO UPDATE SET value = excluded.value",
    )
    statements.append(Statement("DELETE FROM member_fact WHERE member_id = ?", [dup]))
    await d.write_group(conn, statements)
    return combined


async def _combine_progress(
    conn: BaseDBAsyncClient, d: Dialect, s: int, dup: int, *, now: datetime
) -> None:
    rows = await TaskProgressRow.filter(member_id__in=[s, dup]).using_db(conn)
    mine = {(r.task_id, r.window_key): r.to_progress() for r in rows if r.member_id == s}
    theirs = [r.to_progress() for r in rows if r.member_id == dup]
    if not theirs:
        return
    combined = []
    for p in theirs:
        own = mine.get((p.task_id, p.window_key))
        combined.append(combine_progress(own, p) if own is not None else p)
    columns = (
        "member_id",
        "task_id",
        "window_key",
        "count",
        "total",
        "days",
        "streak",
        "last_day",
        "completions",
        "updated_at",
    )
    statements = [Statement("DELETE FROM task_progress WHERE member_id = ?", [dup])]
    statements += d.insert(
        "task_progress",
        columns,
        [_progress_row(s, p, now=now) for p in combined],
        "ON CONFLICT (member_id, task_id, window_key) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns[3:]),
    )
    await d.write_group(conn, statements)


def _progress_row(member_id: int, p: TaskProgress, *, now: datetime) -> list[Any]:
    return [
        member_id,
        p.task_id,
        p.window_key,
        p.count,
        p.total,
        p.days,
        p.streak,
        p.last_day,
        p.completions,
        now,
    ]


async def _union_active_days(conn: BaseDBAsyncClient, d: Dialect, s: int, dup: int) -> None:
    # The table decides which days are new to the survivor.
    await _run(
        conn,
        d,
        "INSERT INTO member_active_day (member_id, day) SELECT ?, day FROM member_active_day "
        "WHERE member_id = ? ON CONFLICT (member_id, day) DO NOTHING",
        [s, dup],
    )
    await _run(conn, d, "DELETE FROM member_active_day WHERE member_id = ?", [dup])


# Rows that change owner as they are, and those unique per member by some key (the
# duplicate's row stays where the survivor has one under the same key).
_MOVED = ("event", "task_completion", "tier_change", "notification", "pending_points")
_MOVED_UNLESS_HELD = {
    "benefit_grant": ("benefit_id", "source", "source_ref"),
    "redemption": ("idempotency_key",),
}


async def _change_owner(conn: BaseDBAsyncClient, d: Dialect, s: int, dup: int) -> dict[str, int]:
    moved: dict[str, int] = {}
    for table in _MOVED:
        rows = await d.rows(
            conn,
            Statement(
                f"UPDATE {table} SET member_id = ? WHERE member_id = ? RETURNING id", [s, dup]
            ),
        )
        moved[table] = len(rows)
    for table, key in _MOVED_UNLESS_HELD.items():
        same = " AND ".join(f"o.{c} = {table}.{c}" for c in key)
        rows = await d.rows(
            conn,
            Statement(
                f"UPDATE {table} SET member_id = ? WHERE member_id = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {table} o WHERE o.member_id = ? AND {same}) RETURNING id",
                [s, dup, s],
            ),
        )
        moved[table] = len(rows)
    return moved


async def _add_scores(conn: BaseDBAsyncClient, d: Dialect, s: int, dup: int) -> list[list[str]]:
    """Add the duplicate's scores to the survivor's; the (metric, period key) pairs moved."""
    later = "excluded.reached_at > leaderboard_score.reached_at"
    rows = await d.rows(
        conn,
        Statement(
            "INSERT INTO leaderboard_score "
            "(metric, period_key, scope, member_id, score, reached_at, reached_seq) "
            "SELECT metric, period_key, scope, ?, score, reached_at, reached_seq "
            "FROM leaderboard_score WHERE member_id = ? AND score <> 0 "
            "ON CONFLICT (metric, period_key, member_id) DO UPDATE SET "
            "score = leaderboard_score.score + excluded.score, "
            f"reached_at = CASE WHEN {later} THEN excluded.reached_at "
            "ELSE leaderboard_score.reached_at END, "
            f"reached_seq = CASE WHEN {later} THEN excluded.reached_seq "
            "ELSE leaderboard_score.reached_seq END "
            "RETURNING metric, period_key",
            [s, dup],
        ),
    )
    return sorted([r["metric"], r["period_key"]] for r in rows)


async def _move_points(conn: BaseDBAsyncClient, survivor: Member, duplicate: Member) -> int:
    """Move the duplicate's balance, lifetime points and growth to the survivor (two ledger
    rows explain the balance's move); the survivor's balance after."""
    points = duplicate.points_balance
    await (
        Member.filter(id=survivor.id)
        .using_db(conn)
        .update(
            points_balance=F("points_balance") + points,
            lifetime_points=F("lifetime_points") + duplicate.lifetime_points,
            growth=F("growth") + duplicate.growth,
        )
    )
    # Read under the lock both rows are held by.
    balance = int(
        (await Member.filter(id=survivor.id).using_db(conn).values_list("points_balance"))[0][0]
    )
    if points == 0:
        return balance
    await (
        Member.filter(id=duplicate.id)
        .using_db(conn)
        .update(points_balance=F("points_balance") - points)
    )
    await PointsLedgerEntry.create(
        member_id=duplicate.id,
        delta=-points,
        kind=LedgerKind.TRANSFER,
        reason=f"Merged into member {survivor.external_id}"[:200],
        source=LedgerSource.MERGE,
        idempotency_key=f"merge:{duplicate.id}:out",
        balance_after=0,
        using_db=conn,
    )
    await PointsLedgerEntry.create(
        member_id=survivor.id,
        delta=points,
        kind=LedgerKind.TRANSFER,
        reason=f"Merged from member {duplicate.external_id}"[:200],
        source=LedgerSource.MERGE,
        idempotency_key=f"merge:{duplicate.id}:in",
        balance_after=balance,
        using_db=conn,
    )
    return balance


async def _place_on_ladder(
    conn: BaseDBAsyncClient,
    survivor: Member,
    duplicate: Member,
    facts: dict[str, int],
    *,
    now: datetime,
) -> dict[str, str] | None:
    """Put the survivor on the higher of the two tiers, promoted as far as the combined
    growth and facts reach (never lower than it was); the tier change, if any."""
    version: LadderVersion | None = await ladder_in_force(now=now, using_db=conn)
    if version is None:
        return None
    ladder = await Tier.filter(ladder_version_id=version.id).using_db(conn).order_by("rank")
    if not ladder:
        return None
    held = {
        t.id: t
        for t in await Tier.filter(id__in=[survivor.tier_id, duplicate.tier_id]).using_db(conn)
    }
    by_code = {t.code: t for t in ladder}
    own = by_code.get(held[survivor.tier_id].code, ladder[0])
    theirs = by_code.get(held[duplicate.tier_id].code, ladder[0])
    current = max(own, theirs, key=lambda t: t.rank)
    growth = survivor.growth + duplicate.growth
    rules = [t.to_rule() for t in ladder]
    target_rule = promotion_target(rules, current=current.to_rule(), growth=growth, facts=facts)
    target = by_code[target_rule.code]
    if target.rank <= own.rank:
        return None
    from_tier = held[survivor.tier_id]
    await Member.filter(id=survivor.id).using_db(conn).update(tier_id=target.id)
    stay = await TierChange.create(
        member_id=survivor.id,
        from_tier_id=from_tier.id,
        to_tier_id=target.id,
        reason=TierChangeReason.PROMOTION,
        ladder_version_id=version.id,
        changed_at=now,
        using_db=conn,
    )
    await grant_tier_benefits(
        conn, member_id=survivor.id, tier_code=target.code, now=now, stay=stay.id
    )
    await grant_running_season_benefits(conn, member_id=survivor.id, tier_code=target.code, now=now)
    unlocked = ", ".join(target.benefits) if target.benefits else "no new benefits"
    await Notification.create(
        member_id=survivor.id,
        kind=NoticeKind.TIER_UP.value,
        title=f"Welcome to {target.name}!",
        body=f"You moved up from {from_tier.name} to {target.name}. Unlocked: {unlocked}.",
        data={"from": from_tier.code, "to": target.code, "benefits": list(target.benefits)},
        created_at=now,
        using_db=conn,
    )
    reached = BadgeMetric.TIER_REACHED.value
    if facts.get(reached, 0) < target.rank:
        facts[reached] = target.rank
        await _raise_fact(conn, survivor.id, reached, target.rank)
    return {"from": from_tier.code, "to": target.code}


async def _raise_fact(conn: BaseDBAsyncClient, member_id: int, key: str, value: int) -> None:
    d = Dialect(conn)
    await d.write_group(
        conn,
        d.insert(
            "member_fact",
            ("member_id", "key", "value"),
            [[member_id, key, value]],
            "ON CONFLICT (member_id, key) DO UPDATE SET value = excluded.value",
        ),
    )


async def _union_badges(
    conn: BaseDBAsyncClient,
    d: Dialect,
    s: int,
    dup: int,
    facts: dict[str, int],
    *,
    now: datetime,
) -> None:
    """The survivor holds every level either held (the earlier award kept where both held
    it) and every level the combined facts reach now; the duplicate holds none."""
    rows = await MemberBadge.filter(member_id__in=[s, dup]).using_db(conn)
    held: dict[int, set[int]] = {}
    for row in rows:
        held.setdefault(row.badge_id, set())
        if row.member_id == s:
            held[row.badge_id].add(row.level)
    wanted = [[s, r.badge_id, r.level, r.earned_at] for r in rows if r.member_id == dup]
    for badge in await Badge.all().using_db(conn):
        rule = badge.to_rule()
        levels = held.get(badge.id, set()) | {r[2] for r in wanted if r[1] == badge.id}
        reached = rule.level_for(facts.get(rule.key, 0))
        wanted += [
            [s, badge.id, level, now] for level in range(1, reached + 1) if level not in levels
        ]
    statements = [Statement("DELETE FROM member_badge WHERE member_id = ?", [dup])]
    statements += d.insert(
        "member_badge",
        ("member_id", "badge_id", "level", "earned_at"),
        wanted,
        "ON CONFLICT (member_id, badge_id, level) DO UPDATE SET earned_at = CASE WHEN "
        "excluded.earned_at < member_badge.earned_at THEN excluded.earned_at "
        "ELSE member_badge.earned_at END",
    )
    await d.write_group(conn, statements)
