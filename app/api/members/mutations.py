"""Mutations on members: enrolling them and awarding points."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import (
    AdjustPointsResult,
    AwardPointsResult,
    EnrollMemberResult,
    LedgerEntryType,
    MarkNotificationsReadResult,
    MemberEnrolled,
    MemberType,
    NotificationsMarked,
    PointsAdjusted,
    PointsAwarded,
)
from app.api.shared.context import Context
from app.api.shared.errors import ValidationFailed
from app.api.shared.ids import decode_id, input_id
from app.api.shared.permissions import audit_actor, caller, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import Member, Notification
from app.services.members.enrollment import enroll_member
from app.services.notifications.inbox import mark_read
from app.services.points.ledger import adjust_points, award_points


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

    @strawberry.mutation(
        description="Give a member points, written to the ledger (admins; audited). Points "
        "only: growth is unchanged. Repeating an idempotency key returns the first award and "
        "gives nothing more.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def award_points(
        self,
        info: Info[Context, None],
        member_id: Annotated[strawberry.ID, strawberry.argument(description="A Member id.")],
        amount: Annotated[
            int,
            strawberry.argument(
                description="Points to give: at least 1, at most LAUREL_MAX_AWARD_POINTS "
                "(1,000,000 by default)."
            ),
        ],
        reason: Annotated[
            str,
            strawberry.argument(
                description="Why, 1-200 characters; the ledger row and the audit log keep it."
            ),
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1-128 characters, unique per award: a retry with the same key "
                "returns the first award and gives nothing more."
            ),
        ],
    ) -> AwardPointsResult:
        actor = audit_actor(info)
        ctx = info.context
        pk = input_id(member_id, kind="Member", argument="memberId")
        award = await award_points(
            member_id=pk,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            max_amount=ctx.settings.max_award_points,
            now=ctx.now,
            actor=actor,
        )
        member = await Member.get(id=pk)
        return PointsAwarded(
            entry=LedgerEntryType.from_model(award.entry),
            member=MemberType.from_model(member),
            replayed=award.replayed,
        )

    @strawberry.mutation(
        description="Correct a member's balance up or down (admins), with a mandatory reason. "
        "Audited; never below zero unless the programme allows debt.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def adjust_points(
        self,
        info: Info[Context, None],
        member_id: Annotated[strawberry.ID, strawberry.argument(description="A Member id.")],
        delta: Annotated[
            int,
            strawberry.argument(
                description="Points to add (positive) or take (negative): not 0, within "
                "plus or minus LAUREL_MAX_AWARD_POINTS (1,000,000 by default)."
            ),
        ],
        reason: Annotated[
            str,
            strawberry.argument(
                description="Why, 5-200 characters; the ledger row and the audit log keep it."
            ),
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1-128 characters, unique per correction: a retry with the same key "
                "returns the first correction and gives nothing more."
            ),
        ],
    ) -> AdjustPointsResult:
        actor = audit_actor(info)
        ctx = info.context
        pk = input_id(member_id, kind="Member", argument="memberId")
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
        member = await Member.get(id=pk)
        return PointsAdjusted(
            entry=LedgerEntryType.from_model(result.entry),
            member=MemberType.from_model(member),
            replayed=result.replayed,
        )

    @strawberry.mutation(
        description="Mark the signed-in member's notifications as read: the ids given, or all "
        "(member tokens only). Ids already read, unknown or of another member are left alone.",
        extensions=[roles(Role.MEMBER)],
    )
    @typed_failures
    async def mark_notifications_read(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Notification ids; give these or all: true."),
        ] = None,
        all: Annotated[
            bool,
            strawberry.argument(description="True: every unread notification; or give ids."),
        ] = False,
    ) -> MarkNotificationsReadResult:
        principal = caller(info)
        member_id = principal.member_id
        assert member_id is not None  # member tokens always carry one
        if all == (ids is not None):
            return ValidationFailed.single("ids", "give either ids or all: true")
        pks = []
        for value in ids or []:
            pk = decode_id(value, kind="Notification")
            if pk is None:
                return ValidationFailed.single("ids", f"{value} is not a Notification id")
            pks.append(pk)
        marked = await mark_read(
            member_id=member_id, ids=None if all else pks, now=info.context.now
        )
        unread = await Notification.filter(member_id=member_id, read_at__isnull=True).count()
        return NotificationsMarked(marked=marked, unread=unread)
