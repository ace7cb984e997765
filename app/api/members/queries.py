"""Queries on members."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.ids import decode_cursor, require_id
from app.api.members.types import MemberType
from app.api.pagination import Connection, check_page_size
from app.models import Member
from app.services.members import members_page


@strawberry.type
class MemberQueries:
    @strawberry.field(description="A member by id; null when there is none.")
    async def member(self, id: strawberry.ID) -> MemberType | None:
        member = await Member.get_or_none(id=require_id(id, kind="Member", argument="id"))
        return MemberType.from_model(member) if member else None

    @strawberry.field(description="A member by the brand's own id; null when there is none.")
    async def member_by_external_id(self, external_id: str) -> MemberType | None:
        member = await Member.get_or_none(external_id=external_id)
        return MemberType.from_model(member) if member else None

    @strawberry.field(description="Members in enrollment order.")
    async def members(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[MemberType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        rows, has_next = await members_page(first=first, after_id=decode_cursor(after))
        return Connection[MemberType].build(
            rows, has_next=has_next, key=lambda m: m.id, node=MemberType.from_model
        )
