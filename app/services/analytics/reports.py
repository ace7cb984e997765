"""Programme analytics, computed by the database: tier distribution at any date, tier
movements and points flow per local day, week or month, and the points liability.

Periods are bucketed by their UTC bounds, computed in Python from the programme's time
zone (DST-correct) and passed to one grouped statement as a VALUES list; both dialects run
the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from app.db import connection, sql, utc, values_list
from app.models import TierChangeReason
from app.services.points.rollup import SLOT_SECONDS, folded_until, slot_start
from app.services.tiers.ladder import tiers_in_force
from gamification.analytics import Bucket, Granularity, buckets
from gamification.points.ledger import LedgerKind


@dataclass(frozen=True, slots=True)
class TierCount:
    rank: int
    code: str
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class MovementRow:
    period: str
    promotions: int
    demotions: int


@dataclass(frozen=True, slots=True)
class PointsRow:
    period: str
    issued: int
    spent: int
    expired: int


def bucket_cte(conn: BaseDBAsyncClient, spans: list[Bucket]) -> tuple[str, list[object]]:
    """A CTE ``b(k, s, e)`` of the buckets (key, UTC start, UTC end), and its parameters."""
    values, params = values_list(
        conn,
        [(b.key, b.starts_at, b.ends_at) for b in spans],
        ("text", "timestamptz", "timestamptz"),
    )
    return f"WITH b(k, s, e) AS ({values}) ", params


async def tier_distribution(*, at: datetime) -> list[TierCount]:
    """Members per tier at ``at``: each member's latest tier change up to then (enrolment
    counts as one), mapped by rank to the ladder in force at ``at``.

    The latest changes are read in the order of index tier_change_latest (migration 0014)
    and counted per tier before the join: no sort of the whole history or of a million
    rows by rank (bench/analytics.py)."""
    conn = connection()
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT t.rank AS rank, SUM(c.n) AS n FROM ("
            "  SELECT l.to_tier_id, count(*) AS n FROM ("
            "    SELECT tc.to_tier_id, ROW_NUMBER() OVER ("
            "      PARTITION BY tc.member_id ORDER BY tc.changed_at DESC, tc.id DESC) AS latest "
            "    FROM tier_change tc WHERE tc.changed_at <= ?"
            "  ) l WHERE l.latest = 1 GROUP BY l.to_tier_id"
            ") c JOIN tier t ON t.id = c.to_tier_id GROUP BY t.rank",
        ),
        [utc(at)],
    )
    counts = {int(r["rank"]): int(r["n"]) for r in rows}
    ladder = await tiers_in_force(now=at)
    return [
        TierCount(rank=t.rank, code=t.code, name=t.name, members=counts.get(t.rank, 0))
        for t in ladder
    ]


async def tier_movements(
    *, granularity: Granularity, starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> list[MovementRow]:
    """Tier changes to a higher (promotions) and a lower rank (demotions) per period; members
    moved by a new ladder version are neither (as in app/services/analytics/tiers.py)."""
    spans = buckets(granularity, starts_at=starts_at, ends_at=ends_at, zone=zone)
    conn = connection()
    cte, params = bucket_cte(conn, spans)
    rows = await conn.execute_query_dict(
        sql(
            conn,
            cte + "SELECT b.k AS k, "
            "SUM(CASE WHEN tt.rank > ft.rank THEN 1 ELSE 0 END) AS up, "
            "SUM(CASE WHEN tt.rank < ft.rank THEN 1 ELSE 0 END) AS down "
            "FROM b JOIN tier_change tc ON tc.changed_at >= b.s AND tc.changed_at < b.e "
            "JOIN tier tt ON tt.id = tc.to_tier_id JOIN tier ft ON ft.id = tc.from_tier_id "
            f"WHERE tc.reason <> '{TierChangeReason.LADDER_CHANGE.value}' GROUP BY b.k",
        ),
        params,
    )
    found = {r["k"]: r for r in rows}
    return [
        MovementRow(
            period=b.key,
            promotions=int((found.get(b.key) or {}).get("up") or 0),
            demotions=int((found.get(b.key) or {}).get("down") or 0),
        )
        for b in spans
    ]


async def points_flow(
    *, granularity: Granularity, starts_at: datetime, ends_at: datetime, zone: ZoneInfo
) -> list[PointsRow]:
    """Points issued (earned and positive adjustments), spent (redemptions) and expired per
    period.

    Issued is the sum of positive deltas but transfers (a merge moves points, it issues
    none), spent minus the sum of the deltas of kind spend,
    expired minus the sum of those of kind expire. A period is read from the rollup of
    app/services/points/rollup.py for its folded quarter hours and from the ledger for the
    rest (its part from the rollup's boundary on, or all of it when its bounds are not
    quarter hours, as with a historic zone offset): the same sums as the ledger alone, in
    one statement of two grouped parts.
    """
    spans = buckets(granularity, starts_at=starts_at, ends_at=ends_at, zone=zone)
    boundary = await folded_until()
    rolled: list[tuple[str, int, int]] = []  # key, slots [from, to) read from the rollup
    live: list[Bucket] = []  # the rest, read from the ledger
    for b in spans:
        lo, hi = _quarter_hour(b.starts_at), _quarter_hour(b.ends_at)
        if boundary is None or lo is None or hi is None or lo >= boundary:
            live.append(b)
            continue
        rolled.append((b.key, lo, min(hi, boundary)))
        if hi > boundary:
            live.append(Bucket(key=b.key, starts_at=slot_start(boundary), ends_at=b.ends_at))
    conn = connection()
    postgres = conn.capabilities.dialect == "postgres"
    parts: list[str] = []
    params: list[object] = []
    if live:
        ledger_cte, ledger_params = bucket_cte(conn, live)
        parts.append(
            f"SELECT * FROM ({ledger_cte}SELECT b.k AS k, "
            "SUM(CASE WHEN l.delta > 0 AND l.kind <> ? THEN l.delta ELSE 0 END) AS issued, "
            "SUM(CASE WHEN l.kind = ? THEN -l.delta ELSE 0 END) AS spent, "
            "SUM(CASE WHEN l.kind = ? THEN -l.delta ELSE 0 END) AS expired "
            "FROM b JOIN points_ledger l ON l.created_at >= b.s AND l.created_at < b.e "
            "GROUP BY b.k) live"
        )
        params += [
            *ledger_params,
            LedgerKind.TRANSFER.value,
            LedgerKind.SPEND.value,
            LedgerKind.EXPIRE.value,
        ]
    if rolled:
        row = "(?, ?::bigint, ?::bigint)" if postgres else "(?, ?, ?)"
        parts.append(
            f"SELECT * FROM (WITH r(k, lo, hi) AS (VALUES {', '.join(row for _ in rolled)}) "
            "SELECT r.k AS k, SUM(CASE WHEN f.kind <> ? THEN f.credited ELSE 0 END) AS issued, "
            "SUM(CASE WHEN f.kind = ? THEN -f.net ELSE 0 END) AS spent, "
            "SUM(CASE WHEN f.kind = ? THEN -f.net ELSE 0 END) AS expired "
            "FROM r JOIN points_flow_rollup f ON f.slot >= r.lo AND f.slot < r.hi "
            "GROUP BY r.k) rolled"
        )
        params += [v for span in rolled for v in span]
        params += [LedgerKind.TRANSFER.value, LedgerKind.SPEND.value, LedgerKind.EXPIRE.value]
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT u.k AS k, SUM(u.issued) AS issued, SUM(u.spent) AS spent, "
            f"SUM(u.expired) AS expired FROM ({' UNION ALL '.join(parts)}) u GROUP BY u.k",
        ),
        params,
    )
    found = {r["k"]: r for r in rows}
    return [
        PointsRow(
            period=b.key,
            issued=int((found.get(b.key) or {}).get("issued") or 0),
            spent=int((found.get(b.key) or {}).get("spent") or 0),
            expired=int((found.get(b.key) or {}).get("expired") or 0),
        )
        for b in spans
    ]


def _quarter_hour(at: datetime) -> int | None:
    """The slot that starts at ``at``, or None when ``at`` is not on a UTC quarter hour."""
    seconds = at.timestamp()
    if seconds != int(seconds) or int(seconds) % SLOT_SECONDS:
        return None
    return int(seconds) // SLOT_SECONDS


async def outstanding_liability() -> int:
    """Points members hold and may still spend: the sum of balances."""
    conn = connection()
    rows = await conn.execute_query_dict("SELECT COALESCE(SUM(points_balance), 0) AS n FROM member")
    return int(rows[0]["n"])


@dataclass(frozen=True, slots=True)
class AtRisk:
    member_id: int
    display_name: str
    tier_code: str
    growth: int
    retention_threshold: int

    @property
    def gap(self) -> int:
        return self.retention_threshold - self.growth


async def members_at_risk(
    *, now: datetime, after_id: int | None, first: int
) -> tuple[list[AtRisk], bool]:
    """Members whose growth would not keep their tier at an evaluation now (tier above the
    base, growth below the retention threshold of the same rank in the ladder in force),
    in member id order after ``after_id``; the flag says whether more follow."""
    ladder = await tiers_in_force(now=now)
    if not ladder:
        return [], False
    conn = connection()
    rows = await conn.execute_query_dict(
        sql(
            conn,
            "SELECT m.id, m.display_name, m.growth, ti.code, ti.retention_threshold "
            "FROM member m JOIN tier t ON t.id = m.tier_id "
            "JOIN tier ti ON ti.ladder_version_id = ? AND ti.rank = t.rank "
            "WHERE t.rank > 0 AND m.growth < ti.retention_threshold AND m.id > ? "
            "ORDER BY m.id LIMIT ?",
        ),
        [ladder[0].ladder_version_id, after_id or 0, first + 1],
    )
    found = [
        AtRisk(
            member_id=int(r["id"]),
            display_name=r["display_name"],
            tier_code=r["code"],
            growth=int(r["growth"]),
            retention_threshold=int(r["retention_threshold"]),
        )
        for r in rows
    ]
    return found[:first], len(found) > first
