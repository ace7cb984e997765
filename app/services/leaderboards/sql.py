"""Boards read straight from the truth (``leaderboard_score``) with set-based SQL.

The answer of embedded mode, and of every mode while the Redis index is away or has no
key for a board. Both dialects run the same statements (``?`` placeholders, numbered for
PostgreSQL). The rank index ``leaderboard_score_rank (metric, period_key, score DESC,
reached_at, reached_seq)`` serves the top pages and the counts behind a rank:

- members ahead of a member = rows with a higher score (an index-only range count), plus
  the few with the same score reached earlier, minus the hidden ones among them (opted
  out, flagged or deactivated: driven from the small ``leaderboard_member`` table), so the common
  board never joins a million rows to read a rank;
- tier boards join member and tier (membership of a tier is not in the index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from app import db
from app.db import sql
from app.services.leaderboards.reads import BoardView, Entry, Standing
from gamification.leaderboards import scope_of

# The order of a board, ties included (gamification.leaderboards.order_key).
ORDER_BY = "s.score DESC, s.reached_at, s.reached_seq"
# Rows of a board that an earlier, higher or equal-but-earlier row beats: "ahead of me".
AHEAD_OF_ME = (
    "(s.score > me.score OR (s.score = me.score AND (s.reached_at < me.reached_at "
    "OR (s.reached_at = me.reached_at AND s.reached_seq < me.reached_seq))))"
)


def as_datetime(value: Any) -> datetime:
    """A timestamp as the driver returns it (SQLite: ISO text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime), value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _hidden(board: BoardView, alias: str = "lm") -> str:
    """The condition on a ``leaderboard_member`` row that keeps its member off ``board``."""
    flagged = f" OR {alias}.flagged_at IS NOT NULL" if board.exclude_flagged else ""
    return f"(NOT {alias}.visible OR NOT {alias}.member_active{flagged})"


def board_rows(board: BoardView, *, extra: str = "") -> str:
    """FROM/WHERE of the rows (alias ``s``) on ``board``; parameters: its scope, [tier
    code]. ``extra`` is ANDed to the WHERE clause."""
    tier_join = (
        " JOIN member m ON m.id = s.member_id JOIN tier t ON t.id = m.tier_id"
        if board.tier_code
        else ""
    )
    tier_where = " AND t.code = ?" if board.tier_code else ""
    return (
        f"FROM leaderboard_score s{tier_join} "
        "LEFT JOIN leaderboard_member lm ON lm.member_id = s.member_id "
        f"WHERE s.scope = ?{tier_where} "
        f"AND (lm.id IS NULL OR NOT {_hidden(board)}){extra}"
    )


def board_params(board: BoardView) -> list[Any]:
    params: list[Any] = [scope_of(board.metric, board.period_key)]
    if board.tier_code:
        params.append(board.tier_code)
    return params


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """A member's truth in one metric and period, with what decides who sees it."""

    metric: str
    period_key: str
    member_id: int
    score: int
    reached_at: datetime
    reached_seq: int
    visible: bool
    flagged: bool
    tier_code: str

    def on(self, board: BoardView) -> bool:
        """Is the member on ``board``?"""
        return self.visible and self.eligible(board)

    def eligible(self, board: BoardView) -> bool:
        """Would the member be on ``board`` if it had not opted out?"""
        if board.tier_code is not None and self.tier_code != board.tier_code:
            return False
        return not (board.exclude_flagged and self.flagged)


_SCORE_ROW = (
    "SELECT s.metric, s.period_key, s.member_id, s.score, s.reached_at, s.reached_seq, "
    "lm.visible, lm.member_active, lm.flagged_at, t.code AS tier_code "
    "FROM leaderboard_score s JOIN member m ON m.id = s.member_id "
    "JOIN tier t ON t.id = m.tier_id "
    "LEFT JOIN leaderboard_member lm ON lm.member_id = s.member_id "
)


def _score_row(row: dict[str, Any]) -> ScoreRow:
    return ScoreRow(
        metric=row["metric"],
        period_key=row["period_key"],
        member_id=int(row["member_id"]),
        score=int(row["score"]),
        reached_at=as_datetime(row["reached_at"]),
        reached_seq=int(row["reached_seq"]),
        # A deactivated member is off every board, as one that opted out.
        visible=row["visible"] is None or (bool(row["visible"]) and bool(row["member_active"])),
        flagged=row["flagged_at"] is not None,
        tier_code=row["tier_code"],
    )


async def score_rows(
    conn: BaseDBAsyncClient, *, metrics: Sequence[str], member_ids: Sequence[int]
) -> list[ScoreRow]:
    """Every score row of ``member_ids`` in ``metrics`` (all periods), in one statement."""
    if not metrics or not member_ids:
        return []
    statement = (
        _SCORE_ROW + f"WHERE s.metric IN ({', '.join('?' * len(metrics))}) "
        f"AND s.member_id IN ({', '.join('?' * len(member_ids))})"
    )
    rows = await conn.execute_query_dict(sql(conn, statement), [*metrics, *member_ids])
    return [_score_row(r) for r in rows]


async def score_row(
    conn: BaseDBAsyncClient, *, metric: str, period_key: str, member_id: int
) -> ScoreRow | None:
    statement = _SCORE_ROW + "WHERE s.metric = ? AND s.period_key = ? AND s.member_id = ?"
    rows = await conn.execute_query_dict(sql(conn, statement), [metric, period_key, member_id])
    return _score_row(rows[0]) if rows else None


class SqlBoardReader:
    """:class:`~app.services.leaderboards.reads.BoardReader` over the truth tables."""

    def __init__(self, conn: BaseDBAsyncClient | None = None) -> None:
        self._conn = conn

    @property
    def conn(self) -> BaseDBAsyncClient:
        return self._conn or db.connection()

    async def page(self, board: BoardView, *, offset: int, limit: int) -> list[Entry]:
        if limit <= 0:
            return []
        offset = max(offset, 0)
        statement = (
            f"SELECT s.member_id, s.score {board_rows(board)} ORDER BY {ORDER_BY} LIMIT ? OFFSET ?"
        )
        rows = await self.conn.execute_query_dict(
            sql(self.conn, statement), [*board_params(board), limit, offset]
        )
        return [
            Entry(rank=offset + n, member_id=int(r["member_id"]), score=int(r["score"]))
            for n, r in enumerate(rows, start=1)
        ]

    async def size(self, board: BoardView) -> int:
        if board.tier_code:
            statement = f"SELECT count(*) AS n {board_rows(board)}"
            params = board_params(board)
        else:
            # Every row of the key less the hidden ones: an index-only count and a small
            # join, instead of an anti-join over the whole board.
            statement = (
                "SELECT (SELECT count(*) FROM leaderboard_score s WHERE s.scope = ?) - "
                "(SELECT count(*) FROM leaderboard_member lm JOIN leaderboard_score s "
                "ON s.member_id = lm.member_id AND s.metric = ? AND s.period_key = ? "
                f"WHERE {_hidden(board)}) AS n"
            )
            params = [*board_params(board), board.metric.value, board.period_key]
        rows = await self.conn.execute_query_dict(sql(self.conn, statement), params)
        return int(rows[0]["n"])

    async def standing(self, board: BoardView, member_id: int) -> Standing | None:
        mine = await score_row(
            self.conn, metric=board.metric.value, period_key=board.period_key, member_id=member_id
        )
        if mine is None or not mine.eligible(board):
            return None
        ahead = await self.ahead(board, member_id)
        return Standing(
            rank=ahead + 1, score=mine.score, reached_at=mine.reached_at, on_board=mine.visible
        )

    async def ahead(self, board: BoardView, member_id: int) -> int:
        """How many members on ``board`` are ahead of ``member_id`` (who has a score row)."""
        me = (
            "WITH me AS (SELECT score, reached_at, reached_seq FROM leaderboard_score "
            "WHERE metric = ? AND period_key = ? AND member_id = ?) "
        )
        key = [board.metric.value, board.period_key]
        scope = scope_of(board.metric, board.period_key)
        if board.tier_code:
            statement = (
                me + f"SELECT count(*) AS n FROM me, leaderboard_score s "
                "JOIN member m ON m.id = s.member_id JOIN tier t ON t.id = m.tier_id "
                "LEFT JOIN leaderboard_member lm ON lm.member_id = s.member_id "
                "WHERE s.scope = ? AND t.code = ? "
                f"AND (lm.id IS NULL OR NOT {_hidden(board)}) AND {AHEAD_OF_ME}"
            )
            params = [*key, member_id, scope, board.tier_code]
        else:
            # Higher scores: a range count on the rank index (index-only after VACUUM).
            # Equal scores reached earlier: a handful. Hidden members ahead: from the
            # small table of members with a board preference.
            statement = (
                me + "SELECT "
                "(SELECT count(*) FROM leaderboard_score s WHERE s.scope = ? "
                "AND s.score > (SELECT score FROM me)) "
                "+ (SELECT count(*) FROM leaderboard_score s, me WHERE s.scope = ? "
                "AND s.score = me.score AND (s.reached_at < me.reached_at "
                "OR (s.reached_at = me.reached_at AND s.reached_seq < me.reached_seq))) "
                # Hidden members are few: each one's row is found through the unique
                # (metric, period_key, member_id) index, not by scanning the board.
                "- (SELECT count(*) FROM leaderboard_member lm JOIN leaderboard_score s "
                "ON s.member_id = lm.member_id AND s.metric = ? AND s.period_key = ?, me "
                f"WHERE {_hidden(board)} AND {AHEAD_OF_ME}) AS n"
            )
            params = [*key, member_id, scope, scope, *key]
        rows = await self.conn.execute_query_dict(sql(self.conn, statement), params)
        return int(rows[0]["n"])
