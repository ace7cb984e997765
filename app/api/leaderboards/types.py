"""Leaderboard types: boards, entries with public member data only, and inputs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.leaderboards.cursors import decode_board_cursor, encode_board_cursor
from app.api.seasons.types import SeasonType
from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, UserInputError, ValidationFailed
from app.api.shared.ids import encode_id
from app.api.shared.pagination import After, First, PageInfo, Previous, check_page_size
from app.api.tiers.types import TierType
from app.auth import Role
from app.models import Leaderboard
from app.services.leaderboards.boards import OpenBoard, board_in_period
from app.services.leaderboards.reads import BoardReader, BoardView, Entry
from gamification.leaderboards import Metric, Period

LeaderboardMetric = described_enum(
    Metric,
    name="LeaderboardMetric",
    description="What a board ranks members by, counted within its period.",
    values={
        "POINTS_EARNED": "Points earned (spending and expiry do not lower it).",
        "GROWTH": "Growth gained.",
        "TASKS_COMPLETED": "Growth task completions.",
    },
)
LeaderboardPeriod = described_enum(
    Period,
    name="LeaderboardPeriod",
    description="The period a board counts over; days, ISO weeks and months are local to the "
    "programme's time zone, and each starts a new board period.",
    values={
        "ALL_TIME": "Since the programme began; one period.",
        "SEASON": "The board's season; one period.",
        "MONTH": "A calendar month, e.g. 2026-11.",
        "WEEK": "An ISO week, Monday to Sunday, e.g. 2026-W48.",
        "DAY": "A local day, e.g. 2026-11-25.",
    },
)
MAX_RADIUS = 25


@strawberry.type(
    name="LeaderboardMember",
    description="What a board shows of a member to everyone: display name and tier.",
)
class LeaderboardMemberType:
    display_name: str = strawberry.field(description="The member's display name.")
    tier: TierType | None = strawberry.field(description="The member's tier now.")


@strawberry.type(name="LeaderboardEntry", description="One rank of a board.")
class LeaderboardEntryType:
    rank: int = strawberry.field(description="1-based, no gaps, no shared ranks.")
    score: int = strawberry.field(
        description="The metric's value in the period: points earned, growth gained or "
        "tasks completed."
    )
    member: LeaderboardMemberType | None = strawberry.field(
        description="Who holds the rank; null if the member no longer exists."
    )


async def entry_types(
    info: Info[Context, None], entries: list[Entry]
) -> list[LeaderboardEntryType]:
    """Entries with their public member data, loaded for the whole page at once (a
    DataLoader batch of members, their tiers from the programme snapshot), so that the
    page's fields resolve without awaiting one by one."""
    ctx = info.context
    members = await ctx.member_by_id.load_many([e.member_id for e in entries])
    tiers = (await ctx.programme.at(None)).tiers if any(members) else {}
    found = []
    for entry, member in zip(entries, members, strict=True):
        public = None
        if member is not None:
            tier = tiers.get(member.tier_id)
            public = LeaderboardMemberType(
                display_name=member.display_name,
                tier=TierType.from_programme(tier) if tier else None,
            )
        found.append(LeaderboardEntryType(rank=entry.rank, score=entry.score, member=public))
    return found


@strawberry.type(description="One entry of a board's page, with the cursor after it.")
class LeaderboardEntryEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to read on from here.")
    node: LeaderboardEntryType = strawberry.field(description="The entry.")


@strawberry.type(description="A page of a board, from the top.")
class LeaderboardEntryConnection:
    edges: list[LeaderboardEntryEdge] = strawberry.field(
        description="The page's entries, best rank first."
    )
    page_info: PageInfo = strawberry.field(description="Whether more follow, and from where.")


@strawberry.type(name="LeaderboardStanding", description="Where the signed-in member stands.")
class LeaderboardStandingType:
    rank: int = strawberry.field(description="1-based rank (where it would be, when not public).")
    score: int = strawberry.field(
        description="The member's score in the period (as LeaderboardEntry.score)."
    )
    public: bool = strawberry.field(
        description="False when the member opted out of public boards: others do not see "
        "it, and the rank says where it would be."
    )


def _cursor_secret(info: Info[Context, None]) -> str:
    secret = info.context.settings.jwt_secret
    assert secret  # settings always hold one (generated in development)
    return secret


def _entries_before(reader: BoardReader, view: BoardView, offset: int, found: bool) -> Previous:
    """hasPreviousPage of a page of entries that starts after ``offset`` entries."""
    if offset <= 0:
        return False
    if found:
        return True  # the page starts below rank 1

    async def check() -> bool:
        return await reader.size(view) > 0

    return check


@strawberry.type(
    name="Leaderboard",
    description="A board ranking members by a metric over a period. Ties go to whoever got "
    "there first; ranks are 1-based without gaps.",
)
class LeaderboardType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the board.")
    code: str = strawberry.field(description="Stable code, for leaderboard(code).")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Text for members to read.")
    metric: LeaderboardMetric = strawberry.field(  # type: ignore[valid-type]
        description="What the board ranks by."
    )
    period: LeaderboardPeriod = strawberry.field(  # type: ignore[valid-type]
        description="The period scores are counted over."
    )
    season_id: strawberry.ID | None = strawberry.field(
        description="The Season of a SEASON board; null otherwise."
    )
    tier_code: str | None = strawberry.field(description="Only members of this tier.")
    visible_from: datetime | None = strawberry.field(
        description="From when members may open it, UTC; null: from the start."
    )
    visible_to: datetime | None = strawberry.field(
        description="Until when members may open it, UTC, exclusive; null: no end."
    )
    exclude_flagged: bool = strawberry.field(
        description="True: members an admin flagged (flagMember) are left off."
    )
    archived: bool = strawberry.field(description="True once withdrawn: nobody can open it.")
    period_key: str = strawberry.field(
        description="The period shown, as people write it (and as `leaderboard(period:)` "
        "takes it): 2026-11-25 for a day board, 2026-W48 for a week, 2026-11 for a month, "
        "all-time, or the season's code for a season board. The current period unless "
        "`leaderboard(period:)` named another: entries, me, around and size are of this "
        "period, so a client cache that keeps several periods of a board apart keys "
        "Leaderboard by id and periodKey."
    )
    opened: strawberry.Private[OpenBoard]

    @classmethod
    def from_open(cls, opened: OpenBoard) -> LeaderboardType:
        board = opened.board
        return cls(
            id=strawberry.ID(encode_id("Leaderboard", board.id)),
            code=board.code,
            name=board.name,
            description=board.description,
            metric=board.metric,
            period=board.period,
            season_id=(
                strawberry.ID(encode_id("Season", board.season_id)) if board.season_id else None
            ),
            tier_code=board.tier_code,
            visible_from=board.visible_from,
            visible_to=board.visible_to,
            exclude_flagged=board.exclude_flagged,
            archived=board.archived_at is not None,
            period_key=opened.period_name,
            opened=opened,
        )

    @classmethod
    async def current(cls, info: Info[Context, None], board: Leaderboard) -> LeaderboardType:
        """The board in its current period (what a mutation returns)."""
        ctx = info.context
        return cls.from_open(
            await board_in_period(board, period=None, now=ctx.now, zone=ctx.settings.zone)
        )

    @strawberry.field(description="The season of a SEASON board; null for other boards.")
    def season(self) -> SeasonType | None:
        season = self.opened.season
        return SeasonType.from_model(season) if season is not None else None

    @strawberry.field(
        description="The board from the top. The cursor continues after its "
        "entry even when others move meanwhile; it is opaque (encrypted: it names no "
        "member) and only this board in this period takes it back."
    )
    async def entries(
        self, info: Info[Context, None], first: First = 10, after: After = None
    ) -> LeaderboardEntryConnection:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        view, reader = self.opened.view, info.context.boards
        secret = _cursor_secret(info)
        offset = 0
        if after is not None:
            rank, member_id, score = decode_board_cursor(after, board=view, secret=secret)
            offset = rank
            # Continue after the cursor's member where it stands now, if its score held:
            # members moving past it meanwhile neither repeat nor hide entries.
            standing = await reader.standing(view, member_id)
            if standing is not None and standing.on_board and standing.score == score:
                offset = standing.rank
        rows = await reader.page(view, offset=offset, limit=first + 1)
        nodes = await entry_types(info, rows[:first])
        edges = [
            LeaderboardEntryEdge(
                cursor=encode_board_cursor(e, board=view, secret=secret), node=node
            )
            for e, node in zip(rows, nodes, strict=False)
        ]
        return LeaderboardEntryConnection(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges],
                has_next=len(rows) > first,
                previous=_entries_before(reader, view, offset, bool(rows)),
            ),
        )

    @strawberry.field(
        description="Where the signed-in member stands; null for staff and "
        "for a member with no score on this board."
    )
    async def me(self, info: Info[Context, None]) -> LeaderboardStandingType | None:
        principal = info.context.principal
        if principal is None or principal.role is not Role.MEMBER or principal.member_id is None:
            return None
        standing = await info.context.boards.standing(self.opened.view, principal.member_id)
        if standing is None:
            return None
        return LeaderboardStandingType(
            rank=standing.rank, score=standing.score, public=standing.on_board
        )

    @strawberry.field(
        description="The entries around the signed-in member: `radius` above "
        "and below (fewer at the top and bottom). Empty when it has no rank."
    )
    async def around(
        self,
        info: Info[Context, None],
        radius: Annotated[
            int,
            strawberry.argument(
                description="Entries on each side, 0 to 25 (0: the member's own only)."
            ),
        ] = 3,
    ) -> list[LeaderboardEntryType]:
        if not 0 <= radius <= MAX_RADIUS:
            raise UserInputError(f"radius must be between 0 and {MAX_RADIUS}", field="radius")
        principal = info.context.principal
        if principal is None or principal.role is not Role.MEMBER or principal.member_id is None:
            return []
        view, reader = self.opened.view, info.context.boards
        standing = await reader.standing(view, principal.member_id)
        if standing is None:
            return []
        # An opted-out member is not on the board: its neighbours are those ranked at
        # its would-be place.
        start = max(standing.rank - radius, 1)
        last = standing.rank + radius if standing.on_board else standing.rank + radius - 1
        rows = await reader.page(view, offset=start - 1, limit=last - start + 1)
        return await entry_types(info, rows)

    @strawberry.field(description="How many members are on the board.")
    async def size(self, info: Info[Context, None]) -> int:
        return await info.context.boards.size(self.opened.view)


@strawberry.type(description="A page of boards.")
class LeaderboardConnection:
    edges: list[LeaderboardEdge] = strawberry.field(
        description="The page's boards, in creation order."
    )
    page_info: PageInfo = strawberry.field(description="Whether more follow, and from where.")


@strawberry.type(description="One board of a page, with the cursor after it.")
class LeaderboardEdge:
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to read on from here.")
    node: LeaderboardType = strawberry.field(
        description="The board (without a period: its entries cannot be read from a list)."
    )


@strawberry.input(description="A new board.")
class CreateLeaderboardInput:
    code: str = strawberry.field(
        description="Stable code members open the board by: 2-64 characters of lowercase "
        "letters, digits, - and _; unique."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    metric: LeaderboardMetric = strawberry.field(  # type: ignore[valid-type]
        description="What the board ranks by; fixed once created."
    )
    period: LeaderboardPeriod = strawberry.field(  # type: ignore[valid-type]
        description="The period scores are counted over; fixed once created."
    )
    description: str = strawberry.field(
        default="", description="Text for members to read, up to 2,000 characters."
    )
    season_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for (and only for) a SEASON board."
    )
    tier_code: str | None = strawberry.field(
        default=None,
        description="Only members of this tier (a code of the ladder in force); null: everyone.",
    )
    visible_from: datetime | None = strawberry.field(
        default=None, description="From when members may open it, with an offset; null: at once."
    )
    visible_to: datetime | None = strawberry.field(
        default=None,
        description="Until when members may open it (exclusive), with an offset; null: no end.",
    )
    exclude_flagged: bool = strawberry.field(
        default=True, description="True: members an admin flagged are left off the board."
    )


@strawberry.input(description="Only the fields given change; null clears an optional one.")
class UpdateLeaderboardInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Text for members to read, up to 2,000 characters."
    )
    tier_code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Only members of this tier (a code of the ladder in force); null: everyone.",
    )
    visible_from: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="From when members may open it, with an offset; null: at once.",
    )
    visible_to: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="Until when members may open it (exclusive), with an offset; null: no end.",
    )
    exclude_flagged: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: members an admin flagged are left off the board.",
    )


@strawberry.type(description="The board is saved (and audited).")
class LeaderboardSaved:
    leaderboard: LeaderboardType = strawberry.field(description="The board as saved.")


@strawberry.type(description="The member's choice to appear on public boards is saved.")
class LeaderboardVisibilitySet:
    visible: bool = strawberry.field(description="Whether the member now appears on public boards.")


@strawberry.type(description="The member's flag is set (and audited).")
class MemberFlagSet:
    member_id: strawberry.ID = strawberry.field(description="The Member id.")
    flagged: bool = strawberry.field(description="Whether the member is now flagged.")


LeaderboardLookupResult = Annotated[
    LeaderboardType | NotFoundType,
    strawberry.union(
        "LeaderboardLookupResult",
        description="A board by its code: the board, or NotFound (kind Leaderboard, id the "
        "code) when there is none open to the caller.",
    ),
]
LeaderboardResult = Annotated[
    LeaderboardSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "LeaderboardResult",
        description="LeaderboardSaved, or: ValidationFailed (the problems listed; a season "
        "for and only for a SEASON board; an archived board cannot change), NotFound (no "
        "such board or season), Forbidden (not a marketer or an admin).",
    ),
]
SetLeaderboardVisibilityResult = Annotated[
    LeaderboardVisibilitySet | ForbiddenType,
    strawberry.union(
        "SetLeaderboardVisibilityResult",
        description="LeaderboardVisibilitySet, or Forbidden (not a member token).",
    ),
]
FlagMemberResult = Annotated[
    MemberFlagSet | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "FlagMemberResult",
        description="MemberFlagSet, or: ValidationFailed (no reason to flag, or one over 200 "
        "characters), NotFound (no such member), Forbidden (not an admin).",
    ),
]
