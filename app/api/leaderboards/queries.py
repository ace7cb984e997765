"""Leaderboards as members and staff read them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import UserInputError
from app.api.ids import decode_cursor, encode_cursor
from app.api.leaderboards.types import LeaderboardConnection, LeaderboardEdge, LeaderboardType
from app.api.pagination import After, First, PageInfo, check_page_size
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
        self,
        info: Info[Context, None],
        code: Annotated[str, strawberry.argument(description="The board's code.")],
        period: Annotated[
            str | None,
            strawberry.argument(
                description="The period to read, as the board's period is written (2026-11-25, "
                "2026-W48, 2026-11; ignored for ALL_TIME and SEASON boards); null: the current "
                "one. Another form is a BAD_USER_INPUT error."
            ),
        ] = None,
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

    @strawberry.field(description="Every board defined, in creation order (marketers, admins).")
    async def leaderboards(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived boards too.")
        ] = False,
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
