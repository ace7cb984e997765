"""GraphQL types of recorded events and their outcomes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.api.members.types import MemberType
from app.api.rules.types import AppliedRule, SkippedRule, applied_rules, skipped_rules
from app.api.shared.enums import described_enum
from app.api.shared.errors import (
    ForbiddenType,
    IdempotencyConflictType,
    MemberInactiveType,
    MemberMergedAwayType,
    NotFoundType,
    ValidationFailed,
)
from app.api.shared.ids import encode_id
from app.api.shared.scalars import Amount
from app.models import EventType
from gamification.activity.attributes import AttributeSpec, AttributeType, schema_from_json

EventAttributeType = described_enum(
    AttributeType,
    name="EventAttributeType",
    description="The type of an event attribute.",
    values={
        "STRING": "Text, up to 200 characters.",
        "NUMBER": "A JSON number.",
        "MONEY": "An amount of money: a number (or a decimal string) of at most 2 decimals, "
        "not negative.",
        "BOOLEAN": "true or false.",
        "DATETIME": "An ISO 8601 date and time with an offset.",
        "LINE_ITEMS": "A list of up to 100 objects of sku (string), category (string), price "
        "(money) and quantity (a whole number, at least 1).",
    },
)


@strawberry.type(description="An attribute events of a type carry.")
class EventAttribute:
    name: str = strawberry.field(description="Its key in the event's attributes.")
    type: EventAttributeType = strawberry.field(description="Its type.")  # type: ignore[valid-type]
    required: bool = strawberry.field(description="True: every event must carry it.")


@strawberry.input(description="An attribute events of a type carry.")
class EventAttributeInput:
    name: str = strawberry.field(
        description="1-32 letters, digits and _, starting with a lowercase letter; not amount."
    )
    type: EventAttributeType = strawberry.field(description="Its type.")  # type: ignore[valid-type]
    required: bool = strawberry.field(default=False, description="True: every event must carry it.")

    def to_spec(self) -> AttributeSpec:
        return AttributeSpec(self.name, self.type, self.required)


@strawberry.input(description="One member activity reported by a brand back end.")
class RecordEventInput:
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Laurel's member id; or give externalMemberId."
    )
    external_member_id: str | None = strawberry.field(
        default=None, description="The brand's own member id; or give memberId."
    )
    type: str = strawberry.field(
        description="A code of the event catalogue, e.g. purchase; an unknown or inactive "
        "one is NotFound."
    )
    occurred_at: datetime = strawberry.field(
        description="When it happened, with an offset: not before the member joined, at most "
        "5 minutes ahead, and within the last LAUREL_EVENT_BACKFILL_DAYS (30 by default)."
    )
    amount: Amount = strawberry.field(
        default=0,
        description="Spend (in the brand's currency) or quantity, 0 to 10,000,000 with up to "
        "2 decimals; 0 if none.",
    )
    attributes: JSON | None = strawberry.field(
        default=None, description="A JSON object of up to 4 KB, kept with the event."
    )
    idempotency_key: str = strawberry.field(
        description="Unique per event, 1-128 characters; a retry with the same key replays the "
        "first outcome, the same key with another payload is an IdempotencyConflict."
    )


@strawberry.type(description="A growth task the event completed.")
class CompletedTask:
    code: str = strawberry.field(description="The task's code.")
    name: str = strawberry.field(description="The task's display name.")
    points: int = strawberry.field(
        description="Points the completion gave: basePoints x multiplier, rounded down."
    )
    growth: int = strawberry.field(description="Growth the completion gave.")
    base_points: int | None = strawberry.field(
        default=None,
        description="The task's reward points before the member's multiplier; null when no "
        "multiplier applied (points are the reward points).",
    )
    multiplier: Decimal | None = strawberry.field(
        default=None,
        description="The member's points multiplier (tier x season) that turned basePoints "
        "into points; null when 1.",
    )


@strawberry.type(description="A badge (or a new level of it) the event earned.")
class EarnedBadge:
    code: str = strawberry.field(description="The badge's code.")
    name: str = strawberry.field(description="The badge's display name.")
    level: int = strawberry.field(description="The level now held, from 1.")


@strawberry.type(description="A promotion the event caused.")
class TierMove:
    from_tier: str = strawberry.field(name="from", description="Code of the tier left.")
    to_tier: str = strawberry.field(name="to", description="Code of the tier reached.")


@strawberry.type(description="What an event did (or, in a dry run, would do).")
class EventRecorded:
    points_awarded: int = strawberry.field(
        description="Points earned in all: the event's own and its tasks', with tier and "
        "seasonal multipliers."
    )
    growth_added: int = strawberry.field(description="Growth (tier score) added.")
    tasks_completed: list[CompletedTask] = strawberry.field(
        description="Growth tasks the event completed."
    )
    badges_earned: list[EarnedBadge] = strawberry.field(
        description="Badges and badge levels the event earned."
    )
    tier_change: TierMove | None = strawberry.field(
        description="The promotion it caused, at once; null when none (events never demote)."
    )
    duplicate: bool = strawberry.field(
        description="True when the key was recorded before: this is the first outcome, replayed."
    )
    dry_run: bool = strawberry.field(description="True when nothing was written.")
    member: MemberType = strawberry.field(
        description="The member after the event (before it, in a dry run)."
    )
    base_points: Decimal | None = strawberry.field(
        default=None,
        description="What the event type says the event is worth (flat plus per unit), before "
        "the member's multiplier; null when no multiplier applied.",
    )
    multiplier: Decimal | None = strawberry.field(
        default=None,
        description="The member's points multiplier (tier x season) on the event's own points "
        "and its tasks' rewards; null when 1.",
    )
    points_pending: int = strawberry.field(
        default=0,
        description="Of pointsAwarded, the points held in the event type's return window: not "
        "in the balance until pendingUntil; 0 when credited at once.",
    )
    pending_until: datetime | None = strawberry.field(
        default=None,
        description="When pointsPending are credited (unless the event is reversed first); "
        "null when nothing is pending.",
    )
    rules_applied: list[AppliedRule] = strawberry.field(
        default_factory=list,
        description="The earning rules that gave something, in stacking order (each its own "
        "ledger row naming the rule and version).",
    )
    rules_skipped: list[SkippedRule] = strawberry.field(
        default_factory=list,
        description="The earning rules of the event's type that gave nothing, and why (an "
        "exhausted offer says BUDGET_EXHAUSTED).",
    )

    @classmethod
    def build(
        cls, outcome: dict[str, Any], *, duplicate: bool, dry_run: bool, member: MemberType
    ) -> EventRecorded:
        change = outcome.get("tierChange")
        return cls(
            points_awarded=outcome["points"],
            growth_added=outcome["growth"],
            tasks_completed=[
                CompletedTask(
                    code=t["code"],
                    name=t["name"],
                    points=t["points"],
                    growth=t["growth"],
                    base_points=t.get("basePoints"),
                    multiplier=Decimal(t["multiplier"]) if "multiplier" in t else None,
                )
                for t in outcome["tasksCompleted"]
            ],
            badges_earned=[EarnedBadge(**b) for b in outcome["badgesEarned"]],
            tier_change=TierMove(from_tier=change["from"], to_tier=change["to"])
            if change
            else None,
            duplicate=duplicate,
            dry_run=dry_run,
            member=member,
            base_points=Decimal(outcome["basePoints"]) if "basePoints" in outcome else None,
            multiplier=Decimal(outcome["multiplier"]) if "multiplier" in outcome else None,
            points_pending=outcome.get("pointsPending", 0),
            pending_until=datetime.fromisoformat(outcome["pendingUntil"])
            if "pendingUntil" in outcome
            else None,
            rules_applied=applied_rules(outcome),
            rules_skipped=skipped_rules(outcome),
        )


RecordEventResult = Annotated[
    EventRecorded
    | ValidationFailed
    | NotFoundType
    | MemberInactiveType
    | MemberMergedAwayType
    | IdempotencyConflictType
    | ForbiddenType,
    strawberry.union(
        "RecordEventResult",
        description="EventRecorded, or: ValidationFailed (neither or both member ids, a bad "
        "amount, occurredAt or attributes — each attribute the event type's schema refuses "
        "named attributes.<name> —, an empty key), NotFound (no such member or event "
        "type), MemberInactive (the member is deactivated; nothing recorded), "
        "MemberMergedAway (the member id names a member merged into another; its external id "
        "records for the survivor), IdempotencyConflict (the key was recorded with another "
        "payload), Forbidden (not a service or an admin).",
    ),
]


@strawberry.type(description="What each event of a recordEvents batch did, in input order.")
class EventsRecorded:
    results: list[RecordEventResult] = strawberry.field(
        description="One result per input, at its index: EventRecorded, or that item's failure."
    )

    @strawberry.field(description="Items recorded now (neither failed nor replayed).")
    def recorded(self) -> int:
        return sum(isinstance(r, EventRecorded) and not r.duplicate for r in self.results)

    @strawberry.field(description="Items whose key was recorded before (outcomes replayed).")
    def duplicates(self) -> int:
        return sum(isinstance(r, EventRecorded) and r.duplicate for r in self.results)

    @strawberry.field(description="Items that failed (their results say why).")
    def failed(self) -> int:
        return sum(not isinstance(r, EventRecorded) for r in self.results)


RecordEventsResult = Annotated[
    EventsRecorded | ValidationFailed | ForbiddenType,
    strawberry.union(
        "RecordEventsResult",
        description="EventsRecorded (whatever each item's fate), or: ValidationFailed (no "
        "inputs, or more than a batch may hold), Forbidden (not a service or an admin).",
    ),
]


@strawberry.type(description="What a return or cancellation took back.")
class EventReversed:
    amount: Amount = strawberry.field(description="The part of the event's amount returned.")
    points_taken: int = strawberry.field(description="Points taken back from the balance.")
    growth_taken: int = strawberry.field(description="Growth taken back.")
    points_not_recovered: int = strawberry.field(
        description="Points the member had already spent, not taken (no debt allowed)."
    )
    duplicate: bool = strawberry.field(
        description="True when this reversal was made before: the first one, replayed."
    )
    member: MemberType = strawberry.field(description="The member after the reversal.")


ReverseEventResult = Annotated[
    EventReversed | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "ReverseEventResult",
        description="EventReversed, or: ValidationFailed (an empty or too long reason, a bad "
        "amount or reversalKey, an event reversed in full already), NotFound (no event under "
        "the idempotency key), Forbidden (not a service or an admin).",
    ),
]


@strawberry.type(name="EventType", description="An entry of the event catalogue.")
class EventTypeType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the event type.")
    code: str = strawberry.field(description="The code recordEvent names it by, e.g. purchase.")
    name: str = strawberry.field(description="Display name.")
    base_points: int = strawberry.field(description="Flat points per event.")
    points_per_unit: Decimal = strawberry.field(description="Points per unit of amount.")
    counts_as_spend: bool = strawberry.field(
        description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool = strawberry.field(
        description="True: each event counts as a referral for growth."
    )
    pending_days: int = strawberry.field(
        description="The return window: its events' points stay pending this many days from "
        "when the event occurred (visible to the member, not spendable) before a job credits "
        "them; 0: credited at once."
    )
    active: bool = strawberry.field(description="Inactive types are refused by recordEvent.")
    attributes: list[EventAttribute] | None = strawberry.field(
        description="The attributes its events carry, checked by recordEvent; null: any JSON "
        "object (no schema declared)."
    )

    @classmethod
    def from_model(cls, event_type: EventType) -> EventTypeType:
        schema = schema_from_json(event_type.attribute_schema)
        return cls(
            id=strawberry.ID(encode_id("EventType", event_type.id)),
            code=event_type.code,
            name=event_type.name,
            base_points=event_type.base_points,
            points_per_unit=event_type.points_per_unit,
            counts_as_spend=event_type.counts_as_spend,
            counts_as_referral=event_type.counts_as_referral,
            pending_days=event_type.pending_days,
            active=event_type.active,
            attributes=None
            if schema is None
            else [EventAttribute(name=a.name, type=a.type, required=a.required) for a in schema],
        )


@strawberry.input(description="A new type of the event catalogue, active at once.")
class CreateEventTypeInput:
    code: str = strawberry.field(
        description="Stable code, e.g. purchase: 2-32 characters of lowercase letters, "
        "digits, - and _; unique, never changed."
    )
    name: str = strawberry.field(description="Display name, 1-100 characters.")
    base_points: int = strawberry.field(
        default=0, description="Flat points per event, 0 to 100,000."
    )
    points_per_unit: Decimal = strawberry.field(
        default=Decimal(0),
        description="Points per unit of amount, 0 to 1000 (a fraction rounds down per event).",
    )
    counts_as_spend: bool = strawberry.field(
        default=False, description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool = strawberry.field(
        default=False, description="True: each event counts as a referral for growth."
    )
    pending_days: int = strawberry.field(
        default=0,
        description="The return window, 0 to 365 days: its events' points stay pending this "
        "long before they are credited; 0 (the default): credited at once.",
    )


@strawberry.input(description="Only the fields given change (the code never does).")
class UpdateEventTypeInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Display name, 1-100 characters."
    )
    base_points: int | None = strawberry.field(
        default=strawberry.UNSET, description="Flat points per event, 0 to 100,000."
    )
    points_per_unit: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="Points per unit of amount, 0 to 1000 (a fraction rounds down per event).",
    )
    counts_as_spend: bool | None = strawberry.field(
        default=strawberry.UNSET, description="True: the amount counts as spend for growth."
    )
    counts_as_referral: bool | None = strawberry.field(
        default=strawberry.UNSET, description="True: each event counts as a referral for growth."
    )
    pending_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="The return window, 0 to 365 days (0: credited at once). Applies to events "
        "recorded from now on; points already pending keep their release date.",
    )


@strawberry.type(description="The event type is saved (and audited).")
class EventTypeSaved:
    event_type: EventTypeType = strawberry.field(description="The event type as saved.")


EventTypeResult = Annotated[
    EventTypeSaved | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "EventTypeResult",
        description="EventTypeSaved, or: ValidationFailed (the problems listed; neither or "
        "both of id and code), NotFound (no such event type), Forbidden (not a marketer or an "
        "admin).",
    ),
]
