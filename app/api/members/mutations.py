"""Mutations on members: enrolling them and awarding points."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import IdempotencyConflictType, NotFoundType, ValidationFailed
from app.api.ids import decode_id
from app.api.members.types import (
    AwardPointsResult,
    EnrollMemberResult,
    LedgerEntryType,
    MemberEnrolled,
    MemberType,
    PointsAwarded,
)
from app.api.permissions import require_role
from app.auth import Role
from app.models import Member
from app.services.errors import IdempotencyConflict, InvalidInput, NotFound
from app.services.members import enroll_member
from app.services.points import award_points


@strawberry.type
class MemberMutations:
    @strawberry.mutation(
        description="Add a member (a brand back end's call). Enrolling an external id again "
        "returns the member already enrolled."
    )
    async def enroll_member(
        self,
        info: Info[Context, None],
        external_id: str,
        display_name: str,
        birthday: date | None = None,
        joined_at: datetime | None = None,
    ) -> EnrollMemberResult:
        require_role(info, Role.SERVICE, Role.ADMIN)
        ctx = info.context
        try:
            enrollment = await enroll_member(
                external_id=external_id,
                display_name=display_name,
                birthday=birthday,
                joined_at=joined_at,
                now=ctx.now,
                zone=ctx.settings.zone,
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        return MemberEnrolled(
            member=MemberType.from_model(enrollment.member), created=enrollment.created
        )

    @strawberry.mutation(
        description="Give a member points, written to the ledger. Repeating an idempotency "
        "key returns the first award and gives nothing more."
    )
    async def award_points(
        self,
        info: Info[Context, None],
        member_id: strawberry.ID,
        amount: int,
        reason: str,
        idempotency_key: str,
    ) -> AwardPointsResult:
        require_role(info, Role.ADMIN)
        ctx = info.context
        pk = decode_id(member_id, kind="Member")
        if pk is None:
            return ValidationFailed.single("memberId", "is not a valid Member id")
        try:
            award = await award_points(
                member_id=pk,
                amount=amount,
                reason=reason,
                idempotency_key=idempotency_key,
                max_amount=ctx.settings.max_award_points,
                now=ctx.now,
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        except NotFound as error:
            return NotFoundType.from_error(error, id=member_id)
        except IdempotencyConflict as error:
            return IdempotencyConflictType.from_error(error)
        member = await Member.get(id=pk)
        return PointsAwarded(
            entry=LedgerEntryType.from_model(award.entry),
            member=MemberType.from_model(member),
            replayed=award.replayed,
        )
