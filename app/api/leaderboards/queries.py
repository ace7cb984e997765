"""Leaderboards as members and staff read them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.leaderboards.types import (
    LeaderboardConnection,
    LeaderboardEdge,
    LeaderboardLookupResult,
    LeaderboardType,
)
from app.api.shared.context import Context
from app.api.shared.errors import NotFoundType, UserInputError
from app.api.shared.ids import decode_cursor, encode_cursor
from app.api.shared.pagination import After, First, PageInfo, check_page_size, rows_before
from app.api.shared.permissions import CATALOGUE_EDITORS, STAFF, caller, roles
from app.auth import Role
from app.services.leaderboards.boards import (
    board_in_period,
    boards_now,
    boards_page,
    joinable_boards,
    visible_board,
)
from app.services.shared.errors import InvalidInput, NotFound


@strawberry.type
class LeaderboardQueries:
    @strawberry.field(
        description="A board in one period: the current one, or the one named by `period` "
        "as people write it (2026-11-25 for a day board, 2026-W48 for a week, 2026-11 for "
        "a month, all-time for an all-time board, the season's code for a season board; "
        "another name is a BAD_USER_INPUT error). NotFound when there is no such board or "
        "it is not open to members now (staff see every live board).",
        extensions=[roles(Role.MEMBER, *STAFF)],
    )
    async def leaderboard(
        self,
        info: Info[Context, None],
        code: Annotated[str, strawberry.argument(description="The board's code.")],
        period: Annotated[
            str | None,
            strawberry.argument(
                description="The period to read, as people write it (2026-11-25, 2026-W48, "
                "2026-11, all-time, a season's code: see periodKey); null: the current one. "
                "Another form, or another kind of period than the board's, is a BAD_USER_INPUT "
                "error."
            ),
        ] = None,
    ) -> LeaderboardLookupResult:
        principal = caller(info)
        ctx = info.context
        board = await visible_board(code, now=ctx.now, staff=principal.role is not Role.MEMBER)
        if board is None:
            return NotFoundType.from_error(NotFound("Leaderboard", code), id=code)
        try:
            opened = await board_in_period(
                board, period=period, now=ctx.now, zone=ctx.settings.zone
            )
        except InvalidInput as error:
            raise UserInputError(error.problems[0].message, field="period") from None
        return LeaderboardType.from_open(opened)

    @strawberry.field(
        description="The boards the signed-in member can be ranked on now, in the order "
        "they were defined, each in its current period: live boards inside their visibility "
        "window, a season board only while its season runs, a tier board only for members "
        "of that tier. Staff see every such board, whatever its tier (members, staff).",
        extensions=[roles(Role.MEMBER, *STAFF)],
    )
    async def open_leaderboards(self, info: Info[Context, None]) -> list[LeaderboardType]:
        principal = caller(info)
        ctx = info.context
        is_member = principal.role is Role.MEMBER
        opened = await joinable_boards(
            member_id=principal.member_id if is_member else None,
            now=ctx.now,
            zone=ctx.settings.zone,
        )
        return [LeaderboardType.from_open(o) for o in opened]

    @strawberry.field(
        description="Every board defined, in creation order (marketers, admins).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    async def leaderboards(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="True: archived boards too.")
        ] = False,
    ) -> LeaderboardConnection:
        ctx = info.context
        check_page_size(first, maximum=ctx.settings.max_page_size)
        after_id = decode_cursor(after)
        rows, has_next = await boards_page(
            first=first, after_id=after_id, include_archived=include_archived
        )
        opened = await boards_now(rows, now=ctx.now, zone=ctx.settings.zone)
        edges = [
            LeaderboardEdge(cursor=encode_cursor(o.board.id), node=LeaderboardType.from_open(o))
            for o in opened
        ]

        async def first_board() -> int | None:
            found, _ = await boards_page(first=1, after_id=None, include_archived=include_archived)
            return found[0].id if found else None

        return LeaderboardConnection(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges],
                has_next=has_next,
                previous=rows_before(after_id, first_board, descending=False),
            ),
        )
