"""recordEvent: how a brand back end reports member activity."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from app.api.activity.types import (
    CreateEventTypeInput,
    EventAttributeInput,
    EventRecorded,
    EventReversed,
    EventsRecorded,
    EventTypeResult,
    EventTypeSaved,
    EventTypeType,
    RecordEventInput,
    RecordEventResult,
    RecordEventsResult,
    ReverseEventResult,
    UpdateEventTypeInput,
)
from app.api.members.types import MemberType
from app.api.shared.context import Context
from app.api.shared.errors import ValidationFailed
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import CATALOGUE_EDITORS, audit_actor, roles
from app.api.shared.results import typed_failure, typed_failures
from app.api.shared.scalars import Amount
from app.auth import Role
from app.models import Member
from app.services.activity import event_types
from app.services.activity.events import MAX_BATCH, EventInput, EventPolicy, Recorded, record_events
from app.services.activity.reversals import reverse_event
from app.services.shared.errors import InvalidInput, NotFound, ServiceError


def _event_input(input: RecordEventInput) -> EventInput:
    """The service's input, or why the item is refused before reaching it."""
    if input.attributes is not None and not isinstance(input.attributes, dict):
        raise InvalidInput.single("attributes", "must be a JSON object")
    return EventInput(
        type=input.type,
        occurred_at=input.occurred_at,
        idempotency_key=input.idempotency_key,
        member_id=(
            input_id(input.member_id, kind="Member", argument="memberId")
            if input.member_id is not None
            else None
        ),
        external_member_id=input.external_member_id,
        amount=Decimal(input.amount),  # the default (0) skips the scalar parser
        attributes=input.attributes or {},
    )


def _when(info: Info[Context, None]) -> dict[str, Any]:
    """The policy and the moment a request records its events under."""
    settings = info.context.settings
    return {
        "policy": EventPolicy(
            zone=settings.zone, backfill_window=timedelta(days=settings.event_backfill_days)
        ),
        "now": info.context.now,
    }


def _result(recorded: Recorded | ServiceError) -> RecordEventResult:
    if isinstance(recorded, ServiceError):
        return typed_failure(recorded)
    return EventRecorded.build(
        recorded.outcome,
        duplicate=recorded.duplicate,
        dry_run=recorded.dry_run,
        member=MemberType.from_model(recorded.member),
    )


@strawberry.type
class ActivityMutations:
    @strawberry.mutation(
        description="Report a member activity (services, admins). Returns what it earned; "
        "with dryRun, what it would earn, writing nothing.",
        extensions=[roles(Role.SERVICE, Role.ADMIN)],
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
        (recorded,) = await record_events([_event_input(input)], dry_run=dry_run, **_when(info))
        return _result(recorded)

    @strawberry.mutation(
        description=f"Report up to {MAX_BATCH} member activities at once (services, admins): "
        "one result per input, in input order, each what recordEvent would return for it "
        "alone; one bad item never fails the others. Items are recorded in order, so a "
        "member's later items see the earlier ones; each key is idempotent as in recordEvent.",
        extensions=[roles(Role.SERVICE, Role.ADMIN)],
    )
    @typed_failures
    async def record_events(
        self,
        info: Info[Context, None],
        inputs: Annotated[
            list[RecordEventInput],
            strawberry.argument(description=f"The activities, 1 to {MAX_BATCH}."),
        ],
        dry_run: Annotated[
            bool,
            strawberry.argument(description="True: compute the outcomes and write nothing."),
        ] = False,
    ) -> RecordEventsResult:
        if not inputs or len(inputs) > MAX_BATCH:
            return ValidationFailed.single("inputs", f"give 1 to {MAX_BATCH} events")
        items: list[EventInput | ServiceError] = []
        for item in inputs:
            try:
                items.append(_event_input(item))
            except (InvalidInput, NotFound) as error:
                items.append(error)
        valid = [i for i in items if isinstance(i, EventInput)]
        recorded = iter(await record_events(valid, dry_run=dry_run, **_when(info)))
        results = [
            _result(next(recorded)) if isinstance(item, EventInput) else typed_failure(item)
            for item in items
        ]
        return EventsRecorded(results=results)

    @strawberry.mutation(
        description="Take back what an event earned, in full or for part of its amount "
        "(a return; services, admins). Never demotes; never overdraws unless the programme "
        "allows debt.",
        extensions=[roles(Role.SERVICE, Role.ADMIN)],
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
            Amount | None,
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
            amount=Amount(reversal.amount),
            points_taken=reversal.points,
            growth_taken=reversal.growth,
            points_not_recovered=reversal.points_not_recovered,
            duplicate=result.duplicate,
            member=MemberType.from_model(member),
        )


@strawberry.type
class EventTypeMutations:
    @strawberry.mutation(
        description="Add an event type to the catalogue (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def create_event_type(
        self,
        info: Info[Context, None],
        input: Annotated[CreateEventTypeInput, strawberry.argument(description="The event type.")],
    ) -> EventTypeResult:
        actor = audit_actor(info)
        event_type = await event_types.create_event_type(
            **vars(input), actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))

    @strawberry.mutation(
        description="Change an event type's fields (those given), named by id or by code "
        "(marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def update_event_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateEventTypeInput, strawberry.argument(description="The fields to change.")
        ],
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="An EventType id; or give code.")
        ] = None,
        code: Annotated[
            str | None, strawberry.argument(description="The event type's code; or give id.")
        ] = None,
    ) -> EventTypeResult:
        actor = audit_actor(info)
        if (id is None) == (code is None):
            return ValidationFailed.single("id", "give either id or code")
        pk = None if id is None else input_id(id, kind="EventType", argument="id")
        changes = given_changes(input)
        event_type = await event_types.update_event_type(
            event_type_id=pk, code=code, changes=changes, actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))

    @strawberry.mutation(
        description="Stop or resume accepting events of a type (idempotent; marketers, admins; "
        "audited). recordEvent refuses an inactive type as NotFound.",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def set_event_type_active(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A EventType id.")],
        active: Annotated[
            bool,
            strawberry.argument(
                description="False: refuse its events from now on; true: accept them again."
            ),
        ],
    ) -> EventTypeResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="EventType", argument="id")
        event_type = await event_types.set_event_type_active(
            event_type_id=pk, active=active, actor=actor, now=info.context.now
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))

    @strawberry.mutation(
        description="Declare the attributes events of a type carry (named by id or by code): "
        "recordEvent then refuses events whose attributes do not fit, each problem naming the "
        "attribute. Null: any JSON object again (marketers, admins; audited).",
        extensions=[roles(*CATALOGUE_EDITORS)],
    )
    @typed_failures
    async def set_event_type_attributes(
        self,
        info: Info[Context, None],
        attributes: Annotated[
            list[EventAttributeInput] | None,
            strawberry.argument(description="Up to 30 attributes; null: no schema."),
        ],
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="An EventType id; or give code.")
        ] = None,
        code: Annotated[
            str | None, strawberry.argument(description="The event type's code; or give id.")
        ] = None,
    ) -> EventTypeResult:
        if (id is None) == (code is None):
            return ValidationFailed.single("id", "give either id or code")
        pk = None if id is None else input_id(id, kind="EventType", argument="id")
        event_type = await event_types.set_event_type_attributes(
            event_type_id=pk,
            code=code,
            attributes=None if attributes is None else [a.to_spec() for a in attributes],
            actor=audit_actor(info),
            now=info.context.now,
        )
        return EventTypeSaved(event_type=EventTypeType.from_model(event_type))
