"""The top of a board, cached: the same answer for every caller until the board changes.

A document qualifies when it is a query whose only root field is ``leaderboard`` and that
selects nothing about the caller (no ``me``, no ``around``, through fragments too). Its
result is kept under the document, its variables, the caller's audience (members and
staff may see different boards) and the board's version, which the index bumps on every
change to the board in that period; a new version is a new key, so nothing is ever
served stale and nothing member-specific is ever mixed in. Hits skip execution entirely.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_operation_ast,
    parse,
)

from app.auth import Role
from app.config import Settings
from app.models import Leaderboard, Season
from app.services.leaderboards.boards import visible_board
from app.services.leaderboards.index import RedisBoardIndex
from app.services.leaderboards.reads import BoardView
from gamification.leaderboards import BoardSeason, period_key_for

MEMBER_SPECIFIC = frozenset({"me", "around"})
CACHE_SIZE = 1024
# Board definitions are read at most this often per code (a marketer's edit shows within it).
DEFINITION_TTL_SECONDS = 5.0


class BoardVersions(Protocol):
    async def version(self, board: BoardView) -> int | None:
        """The board's version in its period; None when unknown (then nothing is cached)."""
        ...


class LocalBoardVersions:
    """Embedded mode: one process sees every change through its relay, so one counter,
    bumped by every batch that moved scores or board settings, versions every board."""

    TOPICS = frozenset(
        {"event.recorded", "event.reversed", "leaderboard.changed", "leaderboard.member_changed"}
    )

    def __init__(self) -> None:
        self.current = 0

    async def __call__(self, entries: Any) -> None:
        if any(e.topic in self.TOPICS for e in entries):
            self.current += 1

    async def version(self, board: BoardView) -> int | None:
        return self.current


class IndexVersions:
    """Versions kept by the Redis index; while Redis does not answer, nothing is cached."""

    def __init__(self, index: RedisBoardIndex, *, timeout: float) -> None:
        self.index = index
        self.timeout = timeout

    async def version(self, board: BoardView) -> int | None:
        try:
            return await asyncio.wait_for(self.index.version(board), self.timeout)
        except Exception:
            return None


@dataclass(frozen=True, slots=True)
class _Plan:
    code_variable: str | None
    code_literal: str | None
    period_variable: str | None
    period_literal: str | None


def _public_plan(document: DocumentNode, operation_name: str | None) -> _Plan | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    roots = operation.selection_set.selections
    if (
        len(roots) != 1
        or not isinstance(roots[0], FieldNode)
        or roots[0].name.value != "leaderboard"
        or roots[0].directives
    ):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if roots[0].selection_set is None or _mentions(roots[0].selection_set, fragments, set()):
        return None
    arguments = {a.name.value: a.value for a in roots[0].arguments or ()}
    plan: dict[str, str | None] = {}
    for name in ("code", "period"):
        value = arguments.get(name)
        plan[f"{name}_variable"] = value.name.value if isinstance(value, VariableNode) else None
        plan[f"{name}_literal"] = value.value if isinstance(value, StringValueNode) else None
    return _Plan(**plan)


def _mentions(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> bool:
    """True when the selection reaches a member-specific field (or a directive, which we
    do not try to reason about)."""
    for selection in selections.selections:
        if selection.directives:
            return True
        if isinstance(selection, FieldNode):
            if selection.name.value in MEMBER_SPECIFIC:
                return True
            if selection.selection_set and _mentions(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _mentions(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or _mentions(fragment.selection_set, fragments, seen):
                return True
    return False


class PublicPageCache:
    def __init__(self, versions: BoardVersions) -> None:
        self.versions = versions
        self._plans: OrderedDict[tuple[str, str | None], _Plan | None] = OrderedDict()
        self._pages: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._boards: dict[
            tuple[str, bool], tuple[float, tuple[Leaderboard, BoardSeason | None] | None]
        ] = {}
        self.hits = 0

    def plan(self, query: str | None, operation_name: str | None) -> _Plan | None:
        if not query:
            return None
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        try:
            plan = _public_plan(parse(query), operation_name)
        except GraphQLError:
            plan = None
        self._plans[key] = plan
        if len(self._plans) > CACHE_SIZE:
            self._plans.popitem(last=False)
        return plan

    async def key(
        self,
        plan: _Plan,
        *,
        variables: dict[str, Any] | None,
        role: Role | None,
        now: datetime,
        zone: ZoneInfo,
    ) -> tuple[Any, ...] | None:
        """The cache key of this request now, or None when it must simply execute."""
        if role is None:
            return None  # anonymous: refused by the resolver, nothing to cache
        variables = variables or {}
        code = variables.get(plan.code_variable) if plan.code_variable else plan.code_literal
        period = (
            variables.get(plan.period_variable) if plan.period_variable else plan.period_literal
        )
        if not isinstance(code, str) or not (period is None or isinstance(period, str)):
            return None
        staff = role is not Role.MEMBER
        found = await self._board(code, staff=staff, now=now)
        if found is None:
            return None
        board, season = found
        try:
            key = period_key_for(board.period, at=now, zone=zone, season=season, name=period)
        except ValueError:
            return None  # a bad period: let the resolver explain
        view = BoardView(
            board_id=board.id,
            metric=board.metric,
            period_key=key,
            tier_code=board.tier_code,
            exclude_flagged=board.exclude_flagged,
        )
        version = await self.versions.version(view)
        if version is None:
            return None
        return (view, staff, version, json.dumps(variables, sort_keys=True, default=str))

    async def _board(
        self, code: str, *, staff: bool, now: datetime
    ) -> tuple[Leaderboard, BoardSeason | None] | None:
        cached = self._boards.get((code, staff))
        if cached is not None and time.monotonic() - cached[0] < DEFINITION_TTL_SECONDS:
            return cached[1]
        board = await visible_board(code, now=now, staff=staff)
        found = None
        if board is not None:
            season = None
            if board.season_id is not None:
                row = await Season.get(id=board.season_id)
                season = BoardSeason(id=row.id, code=row.code)
            found = (board, season)
        self._boards[(code, staff)] = (time.monotonic(), found)
        return found

    def get(self, key: tuple[Any, ...], query: str) -> dict[str, Any] | None:
        found = self._pages.get((query, *key))
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: tuple[Any, ...], query: str, data: dict[str, Any]) -> None:
        self._pages[(query, *key)] = data
        if len(self._pages) > CACHE_SIZE:
            self._pages.popitem(last=False)


def top_page_cache(
    settings: Settings, *, index: RedisBoardIndex | None, local: LocalBoardVersions
) -> PublicPageCache | None:
    """The cache of board tops, or None when nothing tells when a board changes.

    The cached top needs board versions: the Redis index keeps them; without it, this
    process's relay counts changes (``local``, one of its sinks), which is every change only
    when this is the one process writing (SQLite). Otherwise nothing is cached.
    """
    timeout = settings.leaderboard_read_timeout_seconds
    if index is not None:
        return PublicPageCache(IndexVersions(index, timeout=timeout))
    if settings.relay_outbox and settings.database_url.startswith("sqlite"):
        return PublicPageCache(local)
    return None
