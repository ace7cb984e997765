"""Queries on members."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from app.api.members.types import MemberType
from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor, require_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import (
    STAFF,
    caller,
    member_or_staff,
    require_member_access,
    require_role,
    roles,
)
from app.auth import Role
from app.services.members.enrollment import members_page
from app.services.members.reads import (
    MembersRead,
    member_by_external_id,
    member_by_id,
    members_after,
)


def _first(found: MembersRead) -> MemberType | None:
    """The member read, if any, with the programme stamp its tier is read under."""
    return next(
        (MemberType.from_model(m, programme_stamp=found.stamp) for m in found.members), None
    )


def _member_named(_: object, arguments: dict[str, Any]) -> int:
    """The member ``member(id)`` is about (a bad id is BAD_USER_INPUT before any refusal)."""
    return require_id(arguments["id"], kind="Member", argument="id")


@strawberry.type
class MemberQueries:
    @strawberry.field(
        description="The signed-in member (member tokens only; other roles get FORBIDDEN).",
        extensions=[roles(Role.MEMBER)],
    )
    async def me(self, info: Info[Context, None]) -> MemberType | None:
        principal = caller(info)
        assert principal.member_id is not None  # a member token always names its member
        # The home screen's tier and progress come from the programme snapshot this
        # statement's stamp names: the whole screen is this one statement (read ahead by
        # the home-screen cache, when the document is one it answers).
        found = info.context.me_read or await member_by_id(principal.member_id)
        return _first(found)

    @strawberry.field(
        description="A member by id; null when there is none. A member may read only itself; "
        "marketers, admins and services any member.",
        extensions=[member_or_staff(_member_named)],
    )
    async def member(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A Member id.")],
    ) -> MemberType | None:
        return _first(await member_by_id(require_id(id, kind="Member", argument="id")))

    @strawberry.field(
        description="A member by the brand's own id; null when there is none. A member may "
        "read only itself (another id is FORBIDDEN, existing or not); marketers, admins and "
        "services any member.",
        extensions=[member_or_staff()],
    )
    async def member_by_external_id(
        self,
        info: Info[Context, None],
        external_id: Annotated[
            str, strawberry.argument(description="The brand's id, as given to enrollMember.")
        ],
    ) -> MemberType | None:
        member = _first(await member_by_external_id(external_id))
        if member is None:
            # A member token learns nothing about other external ids, not even existence.
            require_role(info, *STAFF)
            return None
        require_member_access(info, member.pk)
        return member

    @strawberry.field(
        description="Members in enrollment order (marketers, admins, services).",
        extensions=[roles(*STAFF)],
    )
    async def members(
        self, info: Info[Context, None], first: First = 20, after: After = None
    ) -> Connection[MemberType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        after_id = decode_cursor(after)
        # The page's tiers and progress come from the programme snapshot of its stamp.
        page, has_next = await members_after(first=first, after_id=after_id)

        async def first_member() -> int | None:
            found, _ = await members_page(first=1, after_id=None)
            return found[0].id if found else None

        return Connection[MemberType].build(
            page.members,
            has_next=has_next,
            key=lambda m: m.id,
            node=lambda m: MemberType.from_model(m, programme_stamp=page.stamp),
            previous=rows_before(after_id, first_member, descending=False),
        )
