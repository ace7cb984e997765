"""Leaderboard mutations: marketers define boards (audited); members opt out; admins flag."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.leaderboards.types import (
    CreateLeaderboardInput,
    FlagMemberResult,
    LeaderboardResult,
    LeaderboardSaved,
    LeaderboardType,
    LeaderboardVisibilitySet,
    MemberFlagSet,
    SetLeaderboardVisibilityResult,
    UpdateLeaderboardInput,
)
from app.api.shared.context import Context
from app.api.shared.ids import encode_id, input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, caller, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.services.leaderboards import boards as leaderboards
from app.services.leaderboards.boards import BoardDefinition


@strawberry.type
class LeaderboardMutations:
    @strawberry.mutation(
        description="Define a board (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_leaderboard(
        self,
        info: Info[Context, None],
        input: Annotated[CreateLeaderboardInput, strawberry.argument(description="The board.")],
    ) -> LeaderboardResult:
        actor = audit_actor(info)
        fields = vars(input).copy()
        if input.season_id is not None:
            season_id = input_id(input.season_id, kind="Season", argument="seasonId")
            fields["season_id"] = season_id
        board = await leaderboards.create_board(
            definition=BoardDefinition(**fields), actor=actor, now=info.context.now
        )
        return LeaderboardSaved(leaderboard=await LeaderboardType.current(info, board))

    @strawberry.mutation(
        description="Change a board's name, description, tier filter, visibility window or "
        "flag rule (its metric, period and season are fixed: define a new board) (marketers, "
        "admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def update_leaderboard(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Leaderboard id.")],
        input: Annotated[
            UpdateLeaderboardInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> LeaderboardResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Leaderboard", argument="id")
        changes = given_changes(input, nullable=("tier_code", "visible_from", "visible_to"))
        board = await leaderboards.update_board(
            board_id=pk, changes=changes, actor=actor, now=info.context.now
        )
        return LeaderboardSaved(leaderboard=await LeaderboardType.current(info, board))

    @strawberry.mutation(
        description="Withdraw a board for good (idempotent; marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def archive_leaderboard(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Leaderboard id.")],
    ) -> LeaderboardResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Leaderboard", argument="id")
        board = await leaderboards.archive_board(board_id=pk, actor=actor, now=info.context.now)
        return LeaderboardSaved(leaderboard=await LeaderboardType.current(info, board))

    @strawberry.mutation(
        description="Show or hide the signed-in member on public boards. Hidden, it still "
        "sees its own rank (where it would be) but appears to nobody else (member tokens "
        "only).",
        extensions=[roles(Role.MEMBER)],
    )
    @typed_failures
    async def set_leaderboard_visibility(
        self,
        info: Info[Context, None],
        visible: Annotated[
            bool,
            strawberry.argument(
                description="False: hide the member from others; true: show it again."
            ),
        ],
    ) -> SetLeaderboardVisibilityResult:
        principal = caller(info)
        assert principal.member_id is not None  # member tokens always carry one
        await leaderboards.set_visibility(
            member_id=principal.member_id, visible=visible, now=info.context.now
        )
        return LeaderboardVisibilitySet(visible=visible)

    @strawberry.mutation(
        description="Take a member off the boards that exclude flagged members, or put it "
        "back (admins; audited; a reason is required to flag).",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def flag_member(
        self,
        info: Info[Context, None],
        member_id: Annotated[strawberry.ID, strawberry.argument(description="A Member id.")],
        flagged: Annotated[
            bool,
            strawberry.argument(description="True: flag (take off); false: unflag (put back)."),
        ],
        reason: Annotated[
            str, strawberry.argument(description="Why, up to 200 characters; required to flag.")
        ] = "",
    ) -> FlagMemberResult:
        actor = audit_actor(info)
        pk = input_id(member_id, kind="Member", argument="memberId")
        await leaderboards.flag_member(
            member_id=pk, flagged=flagged, reason=reason, actor=actor, now=info.context.now
        )
        return MemberFlagSet(member_id=strawberry.ID(encode_id("Member", pk)), flagged=flagged)
