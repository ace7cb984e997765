"""Tier dynamics for operators: promotion and demotion rates per period and tier, time to
promotion, and members' activity before and after a promotion.

Definitions shared by every report here:
- A tier is a rank: tiers of different ladder versions with the same rank are one tier,
  named by the ladder in force now (a rank the current ladder lacks keeps the name of the
  newest version that has it).
- A promotion is a recorded tier change to a higher rank, a demotion one to a lower rank;
  enrolments (no previous tier) are neither, and neither are ladder changes (members moved
  by a new ladder version: a rule change, not a member's movement). Ladder changes still
  move members between tiers, so they count in "members in the tier".
- Elapsed days are whole days of 86,400 seconds (timestamps truncated to the second),
  rounded down; windows of N days are N x 24 hours. Not calendar days: no time zone.

Each report is one or two grouped statements; both dialects run the same SQL except for
the two date-arithmetic expressions below.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from app.db import connection, sql, utc
from app.models import TierChangeReason
from app.services.analytics.reports import bucket_cte
from app.services.tiers.ladder import tiers_in_force
from gamification.analytics import Granularity, buckets, nearest_rank

LADDER_CHANGE = TierChangeReason.LADDER_CHANGE.value

# A promotion out of the join of a change with its two tiers (ft: from, tt: to).
_PROMOTION = f"tt.rank > ft.rank AND tc.reason <> '{LADDER_CHANGE}'"


@dataclass(frozen=True, slots=True)
class TierLabel:
    rank: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TierRate:
    """One tier in one period: its members at the period's start and the moves out of it."""

    rank: int
    code: str
    name: str
    members_at_start: int
    promotions: int
    demotions: int

    @property
    def promotion_rate(self) -> float | None:
        return self.promotions / self.members_at_start if self.members_at_start else None

    @property
    def demotion_rate(self) -> float | None:
        return self.demotions / self.members_at_start if self.members_at_start else None


@dataclass(frozen=True, slots=True)
class RatePeriod:
    period: str
    tiers: tuple[TierRate, ...]


@dataclass(frozen=True, slots=True)
class TimeToPromotion:
    """Promotions into one tier and how long they took (nearest-rank percentiles, days)."""

    rank: int
    code: str
    name: str
    promotions: int
    median_days_from_joining: int | None
    p90_days_from_joining: int | None
    median_days_in_previous_tier: int | None
    p90_days_in_previous_tier: int | None


@dataclass(frozen=True, slots=True)
class PromotionActivity:
    """Promotions into one tier and the events of the promoted members around them."""

    rank: int
    code: str
    name: str
    promotions: int
    still_in_window: int
    events_before: int
    events_after: int

    @property
    def events_before_per_member(self) -> float | None:
        return self.events_before / self.promotions if self.promotions else None

    @property
    def events_after_per_member(self) -> float | None:
        return self.events_after / self.promotions if self.promotions else None


def _postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


def _whole_days(conn: BaseDBAsyncClient, later: str, earlier: str) -> str:
    """Whole days from ``earlier`` to ``later``: seconds (each truncated) over 86,400,
    truncated. Integer division truncates the same way on both dialects. PostgreSQL takes
    the epoch as a double (``date_part``; ``extract`` makes a slower numeric): microseconds
    since 1970 fit its 53 bits, so the floor is exact."""
    if _postgres(conn):
        return (
            f"((CAST(floor(date_part('epoch', {later})) AS BIGINT) "
            f"- CAST(floor(date_part('epoch', {earlier})) AS BIGINT)) / 86400)"
        )
    return f"((CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER)) / 86400)"  # noqa: E501


def _within(conn: BaseDBAsyncClient, column: str, at: str, days: int) -> tuple[str, str]:
    """Conditions for ``column`` in (at - days, at] and in (at, at + days]. PostgreSQL
    compares the column itself (an index on it serves the range); SQLite stores text, so it
    compares julian days (exact for whole seconds: both sides round alike)."""
    if _postgres(conn):
        span = f"INTERVAL '{int(days) * 24} hours'"  # hours: a day of an interval may be 23 h
        return (
            f"{column} > {at} - {span} AND {column} <= {at}",
            f"{column} > {at} AND {column} <= {at} + {span}",
        )
    c, a = f"julianday({column})", f"julianday({at})"
    return (f"{c} > {a} - {int(days)} AND {c} <= {a}", f"{c} > {a} AND {c} <= {a} + {int(days)}")


async def tier_labels(*, now: datetime, ranks: set[int]) -> list[TierLabel]:
    """The tiers of the ladder in force at ``now`` and any other ``ranks``, by rank."""
    labels = {t.rank: TierLabel(t.rank, t.code, t.name) for t in await tiers_in_force(now=now)}
    missing = ranks - labels.keys()
    if missing:
        conn = connection()
        rows = await conn.execute_query_dict(
            "SELECT t.rank AS rank, t.code AS code, t.name AS name FROM tier t "
            "JOIN ladder_version v ON v.id = t.ladder_version_id ORDER BY v.number"
        )
        for r in rows:  # newest version last: its name wins
            if int(r["rank"]) in missing:
                labels[int(r["rank"])] = TierLabel(int(r["rank"]), r["code"], r["name"])
    return [labels[rank] for rank in sorted(labels)]


async def _members_by_rank_before(at: datetime) -> dict[int, int]:
    """Members per rank just before ``at``: each member's latest change before it."""
    conn = connection()
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT t.rank AS rank, count(*) AS n FROM ("
            "  SELECT tc.to_tier_id, ROW_NUMBER() OVER ("
            "    PARTITION BY tc.member_id ORDER BY tc.changed_at DESC, tc.id DESC) AS latest "
            "  FROM tier_change tc WHERE tc.changed_at < ?"
            ") c JOIN tier t ON t.id = c.to_tier_id WHERE c.latest = 1 GROUP BY t.rank",
        ),
        [utc(at)],
    )
    return {int(r["rank"]): int(r["n"]) for r in rows}


async def tier_rates(
    *,
    granularity: Granularity,
    starts_at: datetime,
    ends_at: datetime,
    zone: ZoneInfo,
    now: datetime,
) -> list[RatePeriod]:
    """Per local period overlapping [starts_at, ends_at) and per tier: members in the tier
    at the period's start, promotions and demotions out of it during the period.

    Members at the start of the first period come from the history (one statement); each
    later start is the previous one plus the period's moves into the tier minus those out
    of it, all moves counted by one grouped statement.
    """
    spans = buckets(granularity, starts_at=starts_at, ends_at=ends_at, zone=zone)
    start = await _members_by_rank_before(spans[0].starts_at)
    conn = connection()
    cte, params = bucket_cte(conn, spans)
    rows = await conn.execute_query_dict(
        sql(
            conn,
            cte + "SELECT b.k AS k, ft.rank AS from_rank, tt.rank AS to_rank, "
            "tc.reason AS reason, count(*) AS n "
            "FROM b JOIN tier_change tc ON tc.changed_at >= b.s AND tc.changed_at < b.e "
            "JOIN tier tt ON tt.id = tc.to_tier_id LEFT JOIN tier ft ON ft.id = tc.from_tier_id "
            "GROUP BY b.k, ft.rank, tt.rank, tc.reason",
        ),
        params,
    )
    moves: dict[str, list[tuple[int | None, int, bool, int]]] = defaultdict(list)
    ranks = set(start)
    for r in rows:
        from_rank = None if r["from_rank"] is None else int(r["from_rank"])
        to_rank = int(r["to_rank"])
        moves[r["k"]].append((from_rank, to_rank, r["reason"] == LADDER_CHANGE, int(r["n"])))
        ranks |= {to_rank} if from_rank is None else {to_rank, from_rank}
    labels = await tier_labels(now=now, ranks=ranks)
    found: list[RatePeriod] = []
    members = Counter(start)
    for span in spans:
        up: Counter[int] = Counter()
        down: Counter[int] = Counter()
        flow: Counter[int] = Counter()
        for from_rank, to_rank, ladder_change, n in moves[span.key]:
            flow[to_rank] += n
            if from_rank is None:
                continue
            flow[from_rank] -= n
            if not ladder_change and to_rank > from_rank:
                up[from_rank] += n
            elif not ladder_change and to_rank < from_rank:
                down[from_rank] += n
        found.append(
            RatePeriod(
                period=span.key,
                tiers=tuple(
                    TierRate(
                        rank=t.rank,
                        code=t.code,
                        name=t.name,
                        members_at_start=members[t.rank],
                        promotions=up[t.rank],
                        demotions=down[t.rank],
                    )
                    for t in labels
                ),
            )
        )
        members.update(flow)
    return found


async def time_to_promotion(
    *, now: datetime, starts_at: datetime | None = None, ends_at: datetime | None = None
) -> list[TimeToPromotion]:
    """Per tier above the lowest: promotions into it (those recorded in [starts_at, ends_at)
    when given), with the median and 90th percentile (nearest rank) of whole days from the
    member's joining, and from the member's previous tier change (its arrival in the tier
    it left) to the promotion.

    One statement returns the histogram of (tier, whole days from joining, whole days from
    the previous change); the percentiles are picked from it (it is small: a tier times
    the days it took).
    """
    conn = connection()
    bounds, limits = "", []
    if starts_at is not None:
        bounds += " AND {0}.changed_at >= ?"
        limits.append(utc(starts_at))
    if ends_at is not None:
        bounds += " AND {0}.changed_at < ?"
        limits.append(utc(ends_at))
    history, params = "", []
    if limits:
        # Only the histories of members with a change in the bounds, up to their end.
        history = (
            " WHERE tc.member_id IN (SELECT x.member_id FROM tier_change x "
            f"WHERE 1 = 1{bounds.format('x')})"
        )
        params += limits
        if ends_at is not None:
            history += " AND tc.changed_at < ?"
            params.append(utc(ends_at))
    params += limits
    # Ranks by tier id, as CASE expressions: the promotions are picked from the window's
    # rows before the member join (600,000 of 1.66M on the bench), with no tier joins.
    tiers = await conn.execute_query_dict("SELECT id, rank FROM tier")
    if not tiers:
        return []
    rank_of = {int(t["id"]): int(t["rank"]) for t in tiers}

    def rank(column: str) -> str:
        whens = " ".join(f"WHEN {i} THEN {r}" for i, r in rank_of.items())
        return f"CASE {column} {whens} END"

    # Each change with its member's previous change (the latest before it, same instant:
    # lower id): one window over the history in (member, time, id) order, which the index
    # tier_change_history serves index-only. One histogram of (tier, days from joining,
    # days from the previous change) comes back: a few thousand rows.
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "WITH c AS (SELECT tc.member_id, tc.changed_at, tc.from_tier_id, tc.to_tier_id, "
            "tc.reason, LAG(tc.changed_at) OVER ("
            f"PARTITION BY tc.member_id ORDER BY tc.changed_at, tc.id) AS previous_at "
            f"FROM tier_change tc{history}), "
            "p AS (SELECT c.member_id, c.changed_at, c.previous_at, c.to_tier_id FROM c "
            f"WHERE {rank('c.to_tier_id')} > {rank('c.from_tier_id')} "
            f"AND c.reason <> '{LADDER_CHANGE}'{bounds.format('c')}) "
            "SELECT p.to_tier_id AS tier_id, "
            f"{_whole_days(conn, 'p.changed_at', 'm.joined_at')} AS joined, "
            f"{_whole_days(conn, 'p.changed_at', 'p.previous_at')} AS previous, count(*) AS n "
            "FROM p JOIN member m ON m.id = p.member_id GROUP BY 1, 2, 3",
        ),
        params,
    )
    since: dict[str, dict[int, Counter[int]]] = {
        "joined": defaultdict(Counter),
        "previous": defaultdict(Counter),
    }
    for r in rows:
        into, n = rank_of[int(r["tier_id"])], int(r["n"])
        since["joined"][into][int(r["joined"])] += n
        if r["previous"] is not None:
            since["previous"][into][int(r["previous"])] += n
    joined, previous_tier = since["joined"], since["previous"]
    labels = await tier_labels(now=now, ranks=set(joined))
    lowest = labels[0].rank if labels else 0
    return [
        TimeToPromotion(
            rank=t.rank,
            code=t.code,
            name=t.name,
            promotions=joined[t.rank].total(),
            median_days_from_joining=nearest_rank(joined[t.rank], 50),
            p90_days_from_joining=nearest_rank(joined[t.rank], 90),
            median_days_in_previous_tier=nearest_rank(previous_tier[t.rank], 50),
            p90_days_in_previous_tier=nearest_rank(previous_tier[t.rank], 90),
        )
        for t in labels
        if t.rank > lowest or joined[t.rank]
    ]


async def activity_after_promotion(
    *, starts_at: datetime, ends_at: datetime, now: datetime, days: int = 30
) -> list[PromotionActivity]:
    """Per tier above the lowest: promotions into it recorded in [starts_at, ends_at), and
    the promoted members' events (by when they occurred) in the ``days`` before the
    promotion, (at - days, at], and in the ``days`` after, (at, at + days]. The event that
    caused a promotion occurred at or before it: it counts as before.

    Only promotions whose window after is over at ``now`` are counted; the others are
    reported as ``still_in_window``. A member promoted twice into a tier counts twice.
    """
    conn = connection()
    before, after = _within(conn, "e.occurred_at", "p.at", days)
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "WITH p AS (SELECT tc.member_id, tc.changed_at AS at, tt.rank AS r, "
            "CASE WHEN tc.changed_at <= ? THEN 1 ELSE 0 END AS done "
            "FROM tier_change tc JOIN tier tt ON tt.id = tc.to_tier_id "
            "JOIN tier ft ON ft.id = tc.from_tier_id "
            f"WHERE tc.changed_at >= ? AND tc.changed_at < ? AND {_PROMOTION}) "
            "SELECT p.r AS r, SUM(p.done) AS done, count(*) AS n, "
            "SUM(CASE WHEN p.done = 1 THEN (SELECT count(*) FROM event e "
            f"WHERE e.member_id = p.member_id AND {before}) ELSE 0 END) AS events_before, "
            "SUM(CASE WHEN p.done = 1 THEN (SELECT count(*) FROM event e "
            f"WHERE e.member_id = p.member_id AND {after}) ELSE 0 END) AS events_after "
            "FROM p GROUP BY p.r",
        ),
        [utc(now - timedelta(days=days)), utc(starts_at), utc(ends_at)],
    )
    found = {int(r["r"]): r for r in rows}
    labels = await tier_labels(now=now, ranks=set(found))
    lowest = labels[0].rank if labels else 0

    def number(rank: int, column: str) -> int:
        return int((found.get(rank) or {}).get(column) or 0)

    return [
        PromotionActivity(
            rank=t.rank,
            code=t.code,
            name=t.name,
            promotions=number(t.rank, "done"),
            still_in_window=number(t.rank, "n") - number(t.rank, "done"),
            events_before=number(t.rank, "events_before"),
            events_after=number(t.rank, "events_after"),
        )
        for t in labels
        if t.rank > lowest or t.rank in found
    ]
