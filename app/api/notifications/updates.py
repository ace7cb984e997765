"""``memberUpdates``: a member's points, tasks, badges, tier and benefit grants, live.

Updates leave the outbox relay after their transaction commits and reach the socket
through the broker (in-process, or Redis pub/sub across nodes). Delivery is at least
once: a client that must not count twice drops an ``id`` it has seen.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypedDict

import strawberry
from strawberry.types import Info

from app.api.benefits.types import BenefitKind
from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import UserInputError
from app.api.shared.ids import encode_id, require_id
from app.api.shared.permissions import caller, member_or_staff
from app.api.tiers.types import TierType
from app.services.notifications.updates import MemberUpdate, UpdateKind
from app.services.tiers.ladder import tiers_in_force
from gamification.benefits import BenefitKind as BenefitKindEnum


class PointsChangeReason(StrEnum):
    ACTIVITY = "activity"
    REVERSAL = "reversal"
    REDEMPTION = "redemption"
    ADJUSTMENT = "adjustment"
    EXPIRY = "expiry"
    MERGE = "merge"


# strawberry.enum_value does not mix with StrEnum: the value descriptions go beside.
described_enum(
    PointsChangeReason,
    name="PointsChangeReason",
    description="Why a balance changed.",
    values={
        "ACTIVITY": "Earned by a reported event.",
        "REVERSAL": "Taken back by a return or cancellation (reverseEvent).",
        "REDEMPTION": "Spent on a reward.",
        "ADJUSTMENT": "An admin's award or correction.",
        "EXPIRY": "Expired unspent.",
        "MERGE": "Moved in from a record of the same person merged into this one (mergeMembers).",
    },
)


@strawberry.interface(
    name="MemberUpdate",
    description="Something that just happened to a member. `id` is unique per update: "
    "delivery is at least once, so drop an id already seen.",
)
class MemberUpdateType:
    id: strawberry.ID = strawberry.field(
        description="Unique per update: drop one already seen (delivery is at least once)."
    )
    at: datetime = strawberry.field(description="When the change committed (UTC).")


@strawberry.type(description="Points were earned, spent, taken back or adjusted.")
class PointsChanged(MemberUpdateType):
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    balance: int | None = strawberry.field(
        description="The balance right after the change; null only for changes recorded "
        "before Laurel reported balances (read `me { pointsBalance }` then)."
    )
    reason: PointsChangeReason = strawberry.field(description="Why the balance changed.")


@strawberry.type(description="A growth task was completed.")
class TaskCompleted(MemberUpdateType):
    task_code: str = strawberry.field(description="The task's code.")
    task_name: str = strawberry.field(description="The task's display name.")
    points: int = strawberry.field(description="Points the completion gave.")
    growth: int = strawberry.field(description="Growth the completion gave.")


@strawberry.type(description="A badge (or a new level of it) was earned.")
class BadgeEarned(MemberUpdateType):
    badge_code: str = strawberry.field(description="The badge's code.")
    badge_name: str = strawberry.field(description="The badge's display name.")
    level: int = strawberry.field(description="The level now held, from 1.")


@strawberry.type(description="The member moved to another tier.")
class TierChanged(MemberUpdateType):
    from_tier_code: str | None = strawberry.field(description="Code of the tier left.")
    to_tier_code: str = strawberry.field(description="Code of the tier reached.")

    @strawberry.field(description="The tier moved to, as the ladder in force describes it.")
    async def to_tier(self) -> TierType | None:
        for tier in await tiers_in_force(now=self.at):
            if tier.code == self.to_tier_code:
                return TierType.from_model(tier)
        return None


@strawberry.type(description="A benefit was granted (see `me { benefits }`).")
class BenefitGranted(MemberUpdateType):
    grant_id: strawberry.ID = strawberry.field(
        description="The BenefitGrant id, for useBenefit(grantId)."
    )
    benefit_code: str = strawberry.field(description="The benefit's code.")
    benefit_name: str = strawberry.field(description="The benefit's display name.")
    kind: BenefitKind = strawberry.field(description="What kind of benefit.")  # type: ignore[valid-type]


class _Envelope(TypedDict):
    """The MemberUpdate fields every kind of update shares."""

    id: strawberry.ID
    at: datetime


def to_graphql(update: MemberUpdate) -> MemberUpdateType:
    """The typed form of a broker's update envelope."""
    d = update.data
    common: _Envelope = {"id": strawberry.ID(update.id), "at": update.at}
    match update.kind:
        case UpdateKind.POINTS_CHANGED:
            return PointsChanged(
                **common,
                delta=d["delta"],
                balance=d.get("balance"),
                reason=PointsChangeReason(d["reason"]),
            )
        case UpdateKind.TASK_COMPLETED:
            return TaskCompleted(
                **common,
                task_code=d["code"],
                task_name=d["name"],
                points=d["points"],
                growth=d["growth"],
            )
        case UpdateKind.BADGE_EARNED:
            return BadgeEarned(
                **common, badge_code=d["code"], badge_name=d["name"], level=d["level"]
            )
        case UpdateKind.TIER_CHANGED:
            return TierChanged(**common, from_tier_code=d["from"], to_tier_code=d["to"])
        case UpdateKind.BENEFIT_GRANTED:
            return BenefitGranted(
                **common,
                grant_id=strawberry.ID(encode_id("BenefitGrant", d["grant_id"])),
                benefit_code=d["code"],
                benefit_name=d["name"],
                kind=BenefitKindEnum(d["kind"]),
            )


UPDATE_TYPES = (PointsChanged, TaskCompleted, BadgeEarned, TierChanged, BenefitGranted)


def _member_followed(_: object, arguments: dict[str, Any]) -> int | None:
    """The member named by ``memberId``; None: the caller's own (a member token's)."""
    member_id = arguments.get("member_id")
    return None if member_id is None else require_id(member_id, kind="Member", argument="memberId")


@strawberry.type
class MemberSubscriptions:
    @strawberry.subscription(
        description="Live updates of a member, as they commit (graphql-transport-ws; "
        "authenticate in connection_init). A member follows itself; staff name the member.",
        extensions=[member_or_staff(_member_followed)],
    )
    async def member_updates(
        self,
        info: Info[Context, None],
        member_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The Member to follow: required for staff; a member may give only "
                "its own id, or leave it out."
            ),
        ] = None,
    ) -> AsyncGenerator[MemberUpdateType, None]:
        if member_id is None:
            principal = caller(info)
            if principal.member_id is None:
                raise UserInputError("staff name the member to follow", field="memberId")
            pk = principal.member_id
        else:
            pk = require_id(member_id, kind="Member", argument="memberId")
        async for update in info.context.updates.subscribe(pk):
            yield to_graphql(update)
