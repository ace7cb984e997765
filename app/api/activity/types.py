"""GraphQL types of recorded events and their outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from app.api.errors import ForbiddenType, IdempotencyConflictType, NotFoundType, ValidationFailed
from app.api.members.types import MemberType
from app.api.scalars import Amount


@strawberry.input(description="One member activity reported by a brand back end.")
class RecordEventInput:
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Laurel's member id; or give externalMemberId."
    )
    external_member_id: str | None = strawberry.field(
        default=None, description="The brand's own member id; or give memberId."
    )
    type: str = strawberry.field(description="A code of the event catalogue, e.g. purchase.")
    occurred_at: datetime
    amount: Amount = strawberry.field(default=0, description="Spend or quantity; 0 if none.")  # type: ignore[valid-type,assignment]
    attributes: JSON | None = strawberry.field(default=None, description="Up to 4 KB of JSON.")
    idempotency_key: str = strawberry.field(
        description="Unique per event; a retry with the same key replays the first outcome."
    )


@strawberry.type
class CompletedTask:
    code: str
    name: str
    points: int
    growth: int


@strawberry.type
class EarnedBadge:
    code: str
    name: str
    level: int


@strawberry.type
class TierMove:
    from_tier: str = strawberry.field(name="from", description="Code of the tier left.")
    to_tier: str = strawberry.field(name="to", description="Code of the tier reached.")


@strawberry.type(description="What an event did (or, in a dry run, would do).")
class EventRecorded:
    points_awarded: int
    growth_added: int
    tasks_completed: list[CompletedTask]
    badges_earned: list[EarnedBadge]
    tier_change: TierMove | None
    duplicate: bool = strawberry.field(
        description="True when the key was recorded before: this is the first outcome, replayed."
    )
    dry_run: bool = strawberry.field(description="True when nothing was written.")
    member: MemberType

    @classmethod
    def build(
        cls, outcome: dict[str, Any], *, duplicate: bool, dry_run: bool, member: MemberType
    ) -> EventRecorded:
        change = outcome.get("tierChange")
        return cls(
            points_awarded=outcome["points"],
            growth_added=outcome["growth"],
            tasks_completed=[CompletedTask(**t) for t in outcome["tasksCompleted"]],
            badges_earned=[EarnedBadge(**b) for b in outcome["badgesEarned"]],
            tier_change=TierMove(from_tier=change["from"], to_tier=change["to"])
            if change
            else None,
            duplicate=duplicate,
            dry_run=dry_run,
            member=member,
        )


RecordEventResult = Annotated[
    EventRecorded | ValidationFailed | NotFoundType | IdempotencyConflictType | ForbiddenType,
    strawberry.union("RecordEventResult"),
]


@strawberry.type(description="What a return or cancellation took back.")
class EventReversed:
    amount: Amount  # type: ignore[valid-type]
    points_taken: int
    growth_taken: int
    points_not_recovered: int = strawberry.field(
        description="Points the member had already spent, not taken (no debt allowed)."
    )
    duplicate: bool = strawberry.field(description="True when this reversal was made before.")
    member: MemberType


ReverseEventResult = Annotated[
    EventReversed | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("ReverseEventResult"),
]
