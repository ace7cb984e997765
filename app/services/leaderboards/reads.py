"""How boards are read: one interface, answered by the Redis index or by SQL.

A :class:`BoardView` is one board in one period, with the filters that decide who is on
it. Both readers give the same answers for the same committed data:

- members on a board: scores of ``metric`` in ``period_key``; with ``tier_code``, only
  members whose current tier has that code; with ``exclude_flagged``, not members an admin
  flagged; never members who opted out of public boards (``LeaderboardMember.visible``
  false) nor deactivated members (``LeaderboardMember.member_active`` false);
- order: score high to low, then earlier ``reached_at`` (whole seconds), then lower
  ``reached_seq`` (gamification.leaderboards.order_key); ranks 1-based, dense, no ties;
- a member who opted out (or is deactivated) still learns where it would stand:
  :meth:`BoardReader.standing` counts the members on the board ahead of it (it is not on
  the board itself);
- a member with no score row (or filtered out by tier or flag) has no rank: ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gamification.leaderboards import Metric


@dataclass(frozen=True, slots=True)
class BoardView:
    board_id: int
    metric: Metric
    period_key: str
    tier_code: str | None = None
    exclude_flagged: bool = True


@dataclass(frozen=True, slots=True)
class Entry:
    rank: int
    member_id: int
    score: int


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a member stands: on the board, or (opted out) where it would be."""

    rank: int
    score: int
    reached_at: datetime
    on_board: bool


class BoardReader(Protocol):
    async def page(self, board: BoardView, *, offset: int, limit: int) -> list[Entry]:
        """Entries at ranks offset+1 .. offset+limit."""
        ...

    async def standing(self, board: BoardView, member_id: int) -> Standing | None: ...

    async def size(self, board: BoardView) -> int:
        """How many members are on the board."""
        ...
