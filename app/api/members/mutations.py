"""Mutations on members: enrolling them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import EnrollMemberResult, MemberEnrolled, MemberType
from app.api.shared.context import Context
from app.api.shared.permissions import roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.services.members.enrollment import enroll_member


@strawberry.type
class MemberMutations:
    @strawberry.mutation(
        description="Add a member (a brand back end's call; services, admins). Enrolling an "
        "external id again returns the member already enrolled.",
        extensions=[roles(Role.SERVICE, Role.ADMIN)],
    )
    @typed_failures
    async def enroll_member(
        self,
        info: Info[Context, None],
        external_id: Annotated[
            str,
            strawberry.argument(
                description="The brand's own id for the member: 1-128 characters, no leading "
                "or trailing spaces."
            ),
        ],
        display_name: Annotated[
            str, strawberry.argument(description="The name shown: 1-80 printable characters.")
        ],
        birthday: Annotated[
            date | None,
            strawberry.argument(
                description="ISO 8601 date (e.g. 1990-05-17), not in the future; birthday "
                "benefits follow it."
            ),
        ] = None,
        joined_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="When the member joined the brand's programme, with an offset and "
                "not in the future (an import); default now."
            ),
        ] = None,
    ) -> EnrollMemberResult:
        ctx = info.context
        enrollment = await enroll_member(
            external_id=external_id,
            display_name=display_name,
            birthday=birthday,
            joined_at=joined_at,
            now=ctx.now,
            zone=ctx.settings.zone,
        )
        return MemberEnrolled(
            member=MemberType.from_model(enrollment.member), created=enrollment.created
        )
