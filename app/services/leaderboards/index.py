"""The fast index of boards: one Redis sorted set per board and period, rebuilt from SQL.

The database is the truth (``leaderboard_score``); the index is a copy that the outbox
relay keeps current. Its sink reads the *current* truth of every (metric, period,
member) a batch names and writes it, so applying a batch twice, or two batches in either
order, leaves the same index: nothing is ever incremented.

Keys of one board and period share a hash tag (``{prefix}lb:{<board>:<period>}:...``):

- ``:z`` the sorted set. Its value orders by score and second reached
  (gamification.leaderboards.sort_value); its member name is
  ``<complement of reached_seq, 19 digits>:<member id>:<score>:<epoch second>``, so that
  equal values fall in reverse-lexicographic order (ZREVRANGE's tie order) = lower
  ``reached_seq`` first, never by member id, and a page reads exact scores from names;
- ``:m`` a hash member id -> its current name (to find and replace a member's entry);
- ``:v`` a version, bumped by every write that changed the board (caches of the top
  page compare it);
- ``:rebuilding`` / ``:dirty`` while a rebuild runs, the members writes touched meanwhile,
  written again from SQL once the rebuilt set is swapped in.

A finished period's keys expire ``leaderboard_retention_days`` after its end. A missing
key is never created by one update (that would publish a board of one member): reads fall
back to SQL, and a rebuild recreates it. A current period's key is built (from SQL) by the
first update that finds it missing, which is how each new day, week and month begins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from tortoise.backends.base.client import BaseDBAsyncClient

from app import db
from app.config import Settings
from app.db import sql
from app.models import Leaderboard
from app.services.leaderboards.reads import BoardView, Entry, Standing
from app.services.leaderboards.sql import (
    ScoreRow,
    SqlBoardReader,
    as_datetime,
    board_params,
    board_rows,
    score_row,
    score_rows,
)
from app.services.notifications.outbox import OutboxEntry
from gamification.leaderboards import (
    Metric,
    Period,
    period_ends_at,
    period_of,
    scope_of,
    sort_value,
)

logger = logging.getLogger("laurel.leaderboards")

REBUILD_CHUNK = 10_000
# A rebuild that died leaves its marker for at most this long.
REBUILD_MARKER_SECONDS = 3600
# Outbox topic a change of a member's board preference (opt-out, flag) is written under.
MEMBER_CHANGED = "leaderboard.member_changed"
# A board's filters (tier, flag rule) changed: its sets no longer hold the right members.
BOARD_CHANGED = "leaderboard.changed"
_SEQ_TOP = 10**19 - 1  # reached_seq is a bigint: below 2**63 < 10**19

_APPLY = """
-- KEYS: z, m, v, rebuilding, dirty. ARGV: expire-at (0: none), then per member:
-- member id, name, value ('' removes the member).
if redis.call('EXISTS', KEYS[4]) == 1 then
  for i = 2, #ARGV, 3 do redis.call('SADD', KEYS[5], ARGV[i]) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local changed = 0
for i = 2, #ARGV, 3 do
  local member, name, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local old = redis.call('HGET', KEYS[2], member)
  if value == '' then
    if old then
      redis.call('ZREM', KEYS[1], old)
      redis.call('HDEL', KEYS[2], member)
      changed = changed + 1
    end
  elseif old ~= name then
    if old then redis.call('ZREM', KEYS[1], old) end
    redis.call('ZADD', KEYS[1], value, name)
    redis.call('HSET', KEYS[2], member, name)
    changed = changed + 1
  end
end
if changed > 0 then redis.call('INCR', KEYS[3]) end
if ARGV[1] ~= '0' then
  for i = 1, 3 do redis.call('EXPIREAT', KEYS[i], ARGV[1]) end
end
return changed
"""

_STANDING = """
-- KEYS: z, m. ARGV: member id. nil: no key; {}: not on the board; {name, 0-based rank}.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local name = redis.call('HGET', KEYS[2], ARGV[1])
if not name then return {} end
return {name, redis.call('ZREVRANK', KEYS[1], name)}
"""

_AHEAD = """
-- KEYS: z. ARGV: value, name. How many entries come before (value, name); -1: no key.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])) do
  if other > ARGV[2] then n = n + 1 end
end
return n
"""


class NotIndexed(Exception):
    """The index cannot answer for this board and period (no key, or it lags): ask SQL."""


class RebuildBusy(Exception):
    """Another rebuild of the same board and period is running."""


@dataclass(frozen=True, slots=True)
class BoardKeys:
    z: str
    m: str
    v: str
    rebuilding: str
    dirty: str
    z_new: str
    m_new: str

    @classmethod
    def of(cls, prefix: str, board_id: int, period_key: str) -> BoardKeys:
        base = f"{prefix}lb:{{{board_id}:{period_key}}}:"
        return cls(*(base + part for part in ("z", "m", "v", "rebuilding", "dirty", "zn", "mn")))


def entry_name(row: ScoreRow) -> str:
    epoch = int(row.reached_at.timestamp())
    return f"{_SEQ_TOP - row.reached_seq:019d}:{row.member_id}:{row.score}:{epoch}"


def entry_value(row: ScoreRow) -> str:
    return str(int(sort_value(row.score, row.reached_at)))


def _read_name(name: bytes | str) -> tuple[int, int, datetime]:
    """Member id, score and reached_at of an entry name."""
    text = name.decode() if isinstance(name, bytes) else name
    _, member_id, score, epoch = text.split(":")
    return int(member_id), int(score), datetime.fromtimestamp(int(epoch), UTC)


def board_view(board: Leaderboard, period_key: str) -> BoardView:
    return BoardView(
        board_id=board.id,
        metric=Metric(board.metric),
        period_key=period_key,
        tier_code=board.tier_code,
        exclude_flagged=board.exclude_flagged,
    )


def feeds(board: Leaderboard, metric: str, period_key: str) -> bool:
    """Does the score (metric, period_key) count on ``board``?"""
    if board.archived_at is not None or board.metric != metric:
        return False
    if board.period == Period.SEASON:
        return board.season_id is not None and period_key == f"season:{board.season_id}"
    return period_of(Period(board.period), period_key)


Progress = Callable[[int, int], None]


class RedisBoardIndex:
    """:class:`~app.services.leaderboards.reads.BoardReader` over the sorted sets (raising
    :class:`NotIndexed` where it cannot answer), and their writer."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        zone: ZoneInfo,
        retention: timedelta = timedelta(days=35),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.zone = zone
        self.retention = retention
        self.clock = clock
        self._apply = redis.register_script(_APPLY)
        self._standing = redis.register_script(_STANDING)
        self._ahead = redis.register_script(_AHEAD)

    def keys(self, board: BoardView) -> BoardKeys:
        return BoardKeys.of(self.prefix, board.board_id, board.period_key)

    @property
    def conn(self) -> BaseDBAsyncClient:
        return db.connection()

    # Reading

    async def page(self, board: BoardView, *, offset: int, limit: int) -> list[Entry]:
        offset = max(offset, 0)
        if limit <= 0:
            return []
        keys = self.keys(board)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.z)
            pipe.zrevrange(keys.z, offset, offset + limit - 1)
            exists, names = await pipe.execute()
        if not exists:
            raise NotIndexed(keys.z)
        entries = []
        for n, name in enumerate(names, start=offset + 1):
            member_id, score, _ = _read_name(name)
            entries.append(Entry(rank=n, member_id=member_id, score=score))
        return entries

    async def size(self, board: BoardView) -> int:
        keys = self.keys(board)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.z)
            pipe.zcard(keys.z)
            exists, size = await pipe.execute()
        if not exists:
            raise NotIndexed(keys.z)
        return int(size)

    async def version(self, board: BoardView) -> int:
        """Changes with every write to the board: a cache of its top page keys on it."""
        return int(await self.redis.get(self.keys(board).v) or 0)

    async def standing(self, board: BoardView, member_id: int) -> Standing | None:
        keys = self.keys(board)
        found = await self._standing(keys=[keys.z, keys.m], args=[member_id])
        if found is None:
            raise NotIndexed(keys.z)
        if found:
            name, rank = found
            _, score, reached_at = _read_name(name)
            return Standing(rank=int(rank) + 1, score=score, reached_at=reached_at, on_board=True)
        mine = await score_row(
            self.conn, metric=board.metric.value, period_key=board.period_key, member_id=member_id
        )
        if mine is None or not mine.eligible(board):
            return None
        if mine.visible:
            raise NotIndexed(f"{keys.z} lags behind member {member_id}")
        # Opted out: where it would stand among the members on the board.
        ahead = await self._ahead(keys=[keys.z], args=[entry_value(mine), entry_name(mine)])
        if ahead < 0:
            raise NotIndexed(keys.z)
        return Standing(
            rank=int(ahead) + 1, score=mine.score, reached_at=mine.reached_at, on_board=False
        )

    # Writing

    async def apply(self, entries: Sequence[OutboxEntry]) -> None:
        """Write the current truth of every score ``entries`` moved, and of every member
        whose tier or board preference changed, to the boards they feed."""
        moved: dict[int, set[tuple[str, str]]] = defaultdict(set)
        changed: set[int] = set()
        for entry in entries:
            if entry.topic == BOARD_CHANGED:
                await self.forget(int(entry.payload["board_id"]))
                continue
            member_id = entry.payload.get("member_id")
            if member_id is None:
                continue
            for metric, period_key in entry.payload.get("scores") or ():
                moved[int(member_id)].add((metric, period_key))
            if entry.payload.get("tierChange") or entry.topic == MEMBER_CHANGED:
                changed.add(int(member_id))
        if not moved and not changed:
            return
        boards = await Leaderboard.filter(archived_at__isnull=True).select_related("season")
        if not boards:
            return
        rows = await score_rows(
            self.conn,
            metrics=sorted({b.metric for b in boards}),
            member_ids=sorted({*moved, *changed}),
        )
        truth = {(r.metric, r.period_key, r.member_id): r for r in rows}
        # (board, period) -> members to write; which of them an update may build.
        targets: dict[tuple[int, str], set[int]] = defaultdict(set)
        buildable: set[tuple[int, str]] = set()
        for member_id, pairs in moved.items():
            for metric, period_key in pairs:
                for board in boards:
                    if feeds(board, metric, period_key):
                        targets[board.id, period_key].add(member_id)
                        buildable.add((board.id, period_key))
        for row in rows:
            if row.member_id in changed:
                for board in boards:
                    if feeds(board, row.metric, row.period_key):
                        targets[board.id, row.period_key].add(row.member_id)
        by_id = {b.id: b for b in boards}
        await self._write(
            {(by_id[b], key): members for (b, key), members in targets.items()},
            truth,
            buildable={(by_id[b], key) for b, key in buildable},
        )

    async def _write(
        self,
        targets: dict[tuple[Leaderboard, str], set[int]],
        truth: dict[tuple[str, str, int], ScoreRow],
        *,
        buildable: AbstractSet[tuple[Leaderboard, str]] = frozenset(),
    ) -> None:
        order = list(targets)
        async with self.redis.pipeline(transaction=False) as pipe:
            for board, period_key in order:
                pipe.exists(self.keys(board_view(board, period_key)).z)
            present = await pipe.execute()
        now = self.clock()
        for (board, period_key), exists in zip(order, present, strict=True):
            ends_at = self._ends_at(board, period_key)
            live = ends_at is None or ends_at > now
            if not exists and (board, period_key) in buildable and live:
                try:
                    await self.rebuild(board, period_key)
                except RebuildBusy:
                    continue  # its writes below land in the running rebuild's dirty set
                del targets[board, period_key]
        if not targets:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for (board, period_key), members in targets.items():
                view = board_view(board, period_key)
                await self._queue_apply(pipe, view, members, truth, self._expire_at(board, view))
            await pipe.execute()

    async def _queue_apply(
        self,
        pipe: Pipeline,
        view: BoardView,
        members: Iterable[int],
        truth: dict[tuple[str, str, int], ScoreRow],
        expire_at: int,
    ) -> None:
        keys = self.keys(view)
        args: list[Any] = [expire_at]
        for member_id in sorted(members):
            row = truth.get((view.metric.value, view.period_key, member_id))
            if row is not None and row.on(view):
                args += [member_id, entry_name(row), entry_value(row)]
            else:
                args += [member_id, "", ""]
        await self._apply(
            keys=[keys.z, keys.m, keys.v, keys.rebuilding, keys.dirty], args=args, client=pipe
        )

    def _ends_at(self, board: Leaderboard, period_key: str) -> datetime | None:
        if board.period == Period.SEASON:
            season = board.season if board.season_id is not None else None
            return season.ends_at if season is not None else None
        return period_ends_at(period_key, zone=self.zone)

    def _expire_at(self, board: Leaderboard, view: BoardView) -> int:
        ends_at = self._ends_at(board, view.period_key)
        return 0 if ends_at is None else int((ends_at + self.retention).timestamp())

    async def forget(self, board_id: int) -> None:
        """Drop every period's set of a board (reads go to SQL; the next change to a live
        period rebuilds it from the truth) and move its versions on."""
        pattern = f"{self.prefix}lb:{{{board_id}:*}}:z"
        async with self.redis.pipeline(transaction=False) as pipe:
            async for key in self.redis.scan_iter(match=pattern, count=1000):
                base = (key.decode() if isinstance(key, bytes) else key).removesuffix("z")
                pipe.delete(base + "z", base + "m")
                pipe.incr(base + "v")
            await pipe.execute()

    async def rebuild(
        self, board: Leaderboard, period_key: str, *, progress: Progress | None = None
    ) -> int:
        """Recompute the board's set from SQL into new keys and swap them in atomically;
        return how many members are on it. Raises :class:`RebuildBusy` when another
        rebuild of the same key runs."""
        view = board_view(board, period_key)
        keys = self.keys(view)
        if not await self.redis.set(keys.rebuilding, "1", nx=True, ex=REBUILD_MARKER_SECONDS):
            raise RebuildBusy(keys.z)
        try:
            await self.redis.delete(keys.dirty, keys.z_new, keys.m_new)
            total = await self._count_rows(view) if progress else 0
            done = await self._stream_into(view, keys, total=total, progress=progress)
            expire_at = self._expire_at(board, view)
            async with self.redis.pipeline(transaction=True) as pipe:
                if done:
                    pipe.rename(keys.z_new, keys.z)
                    pipe.rename(keys.m_new, keys.m)
                else:
                    pipe.delete(keys.z, keys.m)
                pipe.incr(keys.v)
                if expire_at:
                    for key in (keys.z, keys.m, keys.v):
                        pipe.expireat(key, expire_at)
                pipe.delete(keys.rebuilding)
                pipe.smembers(keys.dirty)
                pipe.delete(keys.dirty)
                *_, dirty, _ = await pipe.execute()
        except BaseException:
            await self.redis.delete(keys.rebuilding, keys.z_new, keys.m_new)
            raise
        if dirty:
            # Members written while the set was rebuilt: the copy may predate them.
            members = sorted(int(m) for m in dirty)
            rows = await score_rows(self.conn, metrics=[view.metric.value], member_ids=members)
            truth = {(r.metric, r.period_key, r.member_id): r for r in rows}
            async with self.redis.pipeline(transaction=False) as pipe:
                await self._queue_apply(pipe, view, members, truth, expire_at)
                await pipe.execute()
        return done

    async def _count_rows(self, view: BoardView) -> int:
        rows = await self.conn.execute_query_dict(
            sql(
                self.conn,
                "SELECT count(*) AS n FROM leaderboard_score WHERE scope = ?",
            ),
            [scope_of(view.metric, view.period_key)],
        )
        return int(rows[0]["n"])

    async def _stream_into(
        self, view: BoardView, keys: BoardKeys, *, total: int, progress: Progress | None
    ) -> int:
        """Copy the board's rows into the new keys in member id order, chunk by chunk
        (keyset pagination on the unique (metric, period_key, member_id) index)."""
        # The metric and period key as well as the scope: they lead the unique
        # (metric, period_key, member_id) index that serves this keyset order.
        keyset = " AND s.metric = ? AND s.period_key = ? AND s.member_id > ?"
        statement = sql(
            self.conn,
            "SELECT s.member_id, s.score, s.reached_at, s.reached_seq "
            f"{board_rows(view, extra=keyset)} "
            "ORDER BY s.member_id LIMIT ?",
        )
        after, done, seen = 0, 0, 0
        while True:
            rows = await self.conn.execute_query_dict(
                statement,
                [*board_params(view), view.metric.value, view.period_key, after, REBUILD_CHUNK],
            )
            if not rows:
                return done
            entries = [
                ScoreRow(
                    metric=view.metric.value,
                    period_key=view.period_key,
                    member_id=int(r["member_id"]),
                    score=int(r["score"]),
                    reached_at=as_datetime(r["reached_at"]),
                    reached_seq=int(r["reached_seq"]),
                    visible=True,
                    flagged=False,
                    tier_code="",
                )
                for r in rows
            ]
            names = {e.member_id: entry_name(e) for e in entries}
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zadd(keys.z_new, {names[e.member_id]: entry_value(e) for e in entries})
                pipe.hset(keys.m_new, mapping=names)
                await pipe.execute()
            done += len(entries)
            after = entries[-1].member_id
            seen = max(seen, done)
            if progress:
                progress(done, max(total, seen))


class IndexSink:
    """The relay's sink for the index: write each batch's truth to the sorted sets."""

    def __init__(self, index: RedisBoardIndex) -> None:
        self.index = index

    async def __call__(self, entries: Sequence[OutboxEntry]) -> None:
        await self.index.apply(entries)


class BoardReads:
    """The reader the API uses: the index when it is configured, answering and holds the
    board, else SQL (embedded mode, an outage, a key not built yet).

    A read waits at most ``timeout`` for Redis; after a failure the index is left alone for
    ``pause`` seconds, so an outage costs one timeout, not one per request.
    """

    def __init__(
        self,
        *,
        sql: SqlBoardReader,
        index: RedisBoardIndex | None,
        timeout: float = 0.1,
        pause: float = 5.0,
    ) -> None:
        self.sql = sql
        self.index = index
        self.timeout = timeout
        self.pause = pause
        self._skip_until = 0.0

    async def page(self, board: BoardView, *, offset: int, limit: int) -> list[Entry]:
        index = self._usable()
        if index is not None:
            with self._falling_back():
                return await asyncio.wait_for(
                    index.page(board, offset=offset, limit=limit), self.timeout
                )
        return await self.sql.page(board, offset=offset, limit=limit)

    async def standing(self, board: BoardView, member_id: int) -> Standing | None:
        index = self._usable()
        if index is not None:
            with self._falling_back():
                return await asyncio.wait_for(index.standing(board, member_id), self.timeout)
        return await self.sql.standing(board, member_id)

    async def size(self, board: BoardView) -> int:
        index = self._usable()
        if index is not None:
            with self._falling_back():
                return await asyncio.wait_for(index.size(board), self.timeout)
        return await self.sql.size(board)

    def _usable(self) -> RedisBoardIndex | None:
        if self.index is None or time.monotonic() < self._skip_until:
            return None
        return self.index

    def _falling_back(self) -> _FallBack:
        return _FallBack(self)


class _FallBack:
    """Swallows what sends a read to SQL: no key, or Redis failing (then pauses the index)."""

    def __init__(self, reads: BoardReads) -> None:
        self.reads = reads

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> bool:
        if isinstance(exc, NotIndexed):
            return True
        if isinstance(exc, (RedisError, OSError, TimeoutError)):
            logger.warning("the leaderboard index is not answering; reading from SQL: %r", exc)
            self.reads._skip_until = time.monotonic() + self.reads.pause
            return True
        return False


def redis_index(settings: Settings, redis: Redis) -> RedisBoardIndex:
    return RedisBoardIndex(
        redis,
        prefix=settings.redis_prefix,
        zone=settings.zone,
        retention=timedelta(days=settings.leaderboard_retention_days),
    )
