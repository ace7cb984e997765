"""recordEvent: how a brand back end reports member activity."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.activity.types import (
    EventRecorded,
    EventReversed,
    RecordEventInput,
    RecordEventResult,
    ReverseEventResult,
)
from app.api.context import Context
from app.api.errors import ValidationFailed
from app.api.ids import input_id
from app.api.members.types import MemberType
from app.api.permissions import require_role
from app.api.results import typed_failures
from app.api.scalars import Amount
from app.auth import Role
from app.models import Member
from app.services.events import EventPolicy, record_event
from app.services.reversals import reverse_event


@strawberry.type
class ActivityMutations:
    @strawberry.mutation(
        description="Report a member activity (services, admins). Returns what it earned; "
        "with dryRun, what it would earn, writing nothing."
    )
    @typed_failures
    async def record_event(
        self,
        info: Info[Context, None],
        input: Annotated[RecordEventInput, strawberry.argument(description="The activity.")],
        dry_run: Annotated[
            bool,
            strawberry.argument(description="True: compute the outcome and write nothing."),
        ] = False,
    ) -> RecordEventResult:
        require_role(info, Role.SERVICE, Role.ADMIN)
        ctx = info.context
        if input.attributes is not None and not isinstance(input.attributes, dict):
            return ValidationFailed.single("attributes", "must be a JSON object")
        member_pk = None
        if input.member_id is not None:
            member_pk = input_id(input.member_id, kind="Member", argument="memberId")
        settings = ctx.settings
        recorded = await record_event(
            member_id=member_pk,
            external_member_id=input.external_member_id,
            type=input.type,
            occurred_at=input.occurred_at,
            amount=Decimal(input.amount),  # the default (0) skips the scalar parser
            attributes=input.attributes or {},
            idempotency_key=input.idempotency_key,
            dry_run=dry_run,
            policy=EventPolicy(
                zone=settings.zone,
                backfill_window=timedelta(days=settings.event_backfill_days),
            ),
            now=ctx.now,
        )
        member = await (
            Member.get(id=member_pk)
            if member_pk is not None
            else Member.get(external_id=input.external_member_id)
        )
        return EventRecorded.build(
            recorded.outcome,
            duplicate=recorded.duplicate,
            dry_run=recorded.dry_run,
            member=MemberType.from_model(member),
        )

    @strawberry.mutation(
        description="Take back what an event earned, in full or for part of its amount "
        "(a return; services, admins). Never demotes; never overdraws unless the programme "
        "allows debt."
    )
    @typed_failures
    async def reverse_event(
        self,
        info: Info[Context, None],
        idempotency_key: Annotated[
            str,
            strawberry.argument(description="The idempotency key the event was recorded with."),
        ],
        reason: Annotated[
            str, strawberry.argument(description="Why, 1-200 characters, e.g. a return.")
        ],
        amount: Annotated[
            Amount | None,  # type: ignore[valid-type]
            strawberry.argument(
                description="The part of the event's amount returned: positive, at most what "
                "is not reversed yet; null: all that is not reversed yet."
            ),
        ] = None,
        reversal_key: Annotated[
            str | None,
            strawberry.argument(
                description="1-128 characters naming this reversal, so that two equal partial "
                "returns are two; default one per event and amount, so retries replay."
            ),
        ] = None,
    ) -> ReverseEventResult:
        require_role(info, Role.SERVICE, Role.ADMIN)
        ctx = info.context
        result = await reverse_event(
            idempotency_key=idempotency_key,
            reason=reason,
            amount=Decimal(amount) if amount is not None else None,
            reversal_key=reversal_key,
            allow_debt=ctx.settings.allow_points_debt,
            zone=ctx.settings.zone,
            now=ctx.now,
        )
        reversal = result.reversal
        event = await reversal.event
        member = await Member.get(id=event.member_id)
        return EventReversed(
            amount=reversal.amount,
            points_taken=reversal.points,
            growth_taken=reversal.growth,
            points_not_recovered=reversal.points_not_recovered,
            duplicate=result.duplicate,
            member=MemberType.from_model(member),
        )
