"""The rewards catalogue as members and staff read it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypedDict

import strawberry
from strawberry.types import Info

from app.api.rewards.types import RewardType
from app.api.shared.context import Context
from app.api.shared.ids import decode_cursor
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import STAFF, caller, roles
from app.auth import Role
from app.services.rewards.catalogue import rewards_page


class _Audience(TypedDict):
    """Whom rewards_page lists rewards for."""

    now: datetime
    member_id: int | None
    include_archived: bool


@strawberry.type
class RewardQueries:
    @strawberry.field(
        description="Rewards in catalogue order. A member sees those it can redeem now "
        "(active, open, offered to its tier; sold-out ones included); staff see every "
        "reward, archived ones with includeArchived (members, marketers, admins, services).",
        extensions=[roles(Role.MEMBER, *STAFF)],
    )
    async def rewards(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool,
            strawberry.argument(description="True: archived rewards too (ignored for members)."),
        ] = False,
    ) -> Connection[RewardType]:
        principal = caller(info)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        is_member = principal.role is Role.MEMBER
        assert not is_member or principal.member_id is not None  # member tokens carry one
        after_id = decode_cursor(after)
        audience: _Audience = {
            "now": info.context.now,
            "member_id": principal.member_id if is_member else None,
            "include_archived": include_archived and not is_member,
        }
        rows, has_next = await rewards_page(first=first, after_id=after_id, **audience)

        async def first_reward() -> int | None:
            found, _ = await rewards_page(first=1, after_id=None, **audience)
            return found[0].id if found else None

        return Connection[RewardType].build(
            rows,
            has_next=has_next,
            key=lambda r: r.id,
            node=RewardType.from_model,
            previous=rows_before(after_id, first_reward, descending=False),
        )
