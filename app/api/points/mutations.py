"""Admins award points and correct balances (audited, idempotent by key)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import LedgerEntryType, MemberType
from app.api.points.types import (
    AdjustPointsResult,
    AwardPointsResult,
    PointsAdjusted,
    PointsAwarded,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import Member
from app.services.points.ledger import adjust_points, award_points


@strawberry.type
class PointsMutations:
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
