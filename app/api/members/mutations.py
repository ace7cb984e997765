"""Mutations on members: enrolling them and awarding points."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import (
    IdempotencyConflictType,
    NotFoundType,
    UserInputError,
    ValidationFailed,
)
from app.api.ids import decode_id
from app.api.members.types import (
    AdjustPointsResult,
    AwardPointsResult,
    EnrollMemberResult,
    LedgerEntryType,
    MemberEnrolled,
    MemberType,
    NotificationsMarked,
    PointsAdjusted,
    PointsAwarded,
)
from app.api.permissions import require_actor, require_role
from app.auth import Role
from app.models import Member, Notification
from app.services.errors import IdempotencyConflict, InvalidInput, NotFound
from app.services.members import enroll_member
from app.services.points import adjust_points, award_points
from app.services.progress import mark_read


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
        actor = require_actor(info, Role.ADMIN)
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
                actor=actor,
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

    @strawberry.mutation(
        description="Correct a member's balance up or down (admins), with a mandatory reason. "
        "Audited; never below zero unless the programme allows debt."
    )
    async def adjust_points(
        self,
        info: Info[Context, None],
        member_id: strawberry.ID,
        delta: int,
        reason: str,
        idempotency_key: str,
    ) -> AdjustPointsResult:
        actor = require_actor(info, Role.ADMIN)
        ctx = info.context
        pk = decode_id(member_id, kind="Member")
        if pk is None:
            return ValidationFailed.single("memberId", "is not a valid Member id")
        try:
            result = await adjust_points(
                member_id=pk,
                delta=delta,
                reason=reason,
                idempotency_key=idempotency_key,
                max_amount=ctx.settings.max_award_points,
                allow_debt=ctx.settings.allow_points_debt,
                actor=actor,
                now=ctx.now,
            )
        except InvalidInput as error:
            return ValidationFailed.from_error(error)
        except NotFound as error:
            return NotFoundType.from_error(error, id=member_id)
        except IdempotencyConflict as error:
            return IdempotencyConflictType.from_error(error)
        member = await Member.get(id=pk)
        return PointsAdjusted(
            entry=LedgerEntryType.from_model(result.entry),
            member=MemberType.from_model(member),
            replayed=result.replayed,
        )

    @strawberry.mutation(
        description="Mark the signed-in member's notifications as read: the ids given, or all."
    )
    async def mark_notifications_read(
        self,
        info: Info[Context, None],
        ids: list[strawberry.ID] | None = None,
        all: bool = False,
    ) -> NotificationsMarked:
        principal = require_role(info, Role.MEMBER)
        member_id = principal.member_id
        assert member_id is not None  # member tokens always carry one
        if all == (ids is not None):
            raise UserInputError("give either ids or all: true", field="ids")
        pks = []
        for value in ids or []:
            pk = decode_id(value, kind="Notification")
            if pk is None:
                raise UserInputError(f"{value} is not a Notification id", field="ids")
            pks.append(pk)
        marked = await mark_read(
            member_id=member_id, ids=None if all else pks, now=info.context.now
        )
        unread = await Notification.filter(member_id=member_id, read_at__isnull=True).count()
        return NotificationsMarked(marked=marked, unread=unread)
