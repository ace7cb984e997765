"""Leaderboards as members and staff read them."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import UserInputError
from app.api.ids import decode_cursor, encode_cursor
from app.api.leaderboards.types import LeaderboardConnection, LeaderboardEdge, LeaderboardType
from app.api.pagination import PageInfo, check_page_size
from app.api.permissions import CATALOGUE_EDITORS, STAFF, require_role
from app.auth import Role
from app.services.errors import InvalidInput
from app.services.leaderboards import board_view, boards_page, visible_board


@strawberry.type
class LeaderboardQueries:
    @strawberry.field(
        description="A board in one period: the current one, or the one named by `period` "
        "(2026-11-25 for a day board, 2026-W48 for a week, 2026-11 for a month). Null when "
        "there is no such board or it is not open to members now (staff see every live board)."
    )
    async def leaderboard(
        self, info: Info[Context, None], code: str, period: str | None = None
    ) -> LeaderboardType | None:
        principal = require_role(info, Role.MEMBER, *STAFF)
        ctx = info.context
        board = await visible_board(code, now=ctx.now, staff=principal.role is not Role.MEMBER)
        if board is None:
            return None
        try:
            view = await board_view(board, period=period, now=ctx.now, zone=ctx.settings.zone)
        except InvalidInput as error:
            raise UserInputError(error.problems[0].message, field="period") from None
        return LeaderboardType.from_model(board, view)

    @strawberry.field(description="Every board defined (marketers, admins).")
    async def leaderboards(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        include_archived: bool = False,
    ) -> LeaderboardConnection:
        require_role(info, *CATALOGUE_EDITORS)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        rows, has_next = await boards_page(
            first=first, after_id=decode_cursor(after), include_archived=include_archived
        )
        edges = [
            LeaderboardEdge(cursor=encode_cursor(b.id), node=LeaderboardType.from_model(b))
            for b in rows
        ]
        return LeaderboardConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )
