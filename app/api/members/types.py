"""GraphQL types of members and their points."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.context import Context
from app.api.errors import IdempotencyConflictType, NotFoundType, ValidationFailed
from app.api.ids import decode_cursor, encode_id
from app.api.pagination import Connection, check_page_size
from app.api.tiers.types import TierType
from app.models import Member, PointsLedgerEntry
from app.services.points import ledger_page
from gamification.ladder import tier_progress
from gamification.points import LedgerKind as LedgerKindEnum

LedgerKind = strawberry.enum(LedgerKindEnum, name="LedgerKind")


@strawberry.type(name="LedgerEntry", description="One row of the append-only points ledger.")
class LedgerEntryType:
    id: strawberry.ID
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    kind: LedgerKind  # type: ignore[valid-type]
    reason: str
    balance_after: int
    created_at: datetime

    @classmethod
    def from_model(cls, entry: PointsLedgerEntry) -> LedgerEntryType:
        return cls(
            id=strawberry.ID(encode_id("LedgerEntry", entry.id)),
            delta=entry.delta,
            kind=entry.kind,
            reason=entry.reason,
            balance_after=entry.balance_after,
            created_at=entry.created_at,
        )


@strawberry.type(name="TierProgress")
class TierProgressType:
    next_tier: TierType | None = strawberry.field(description="Null at the top of the ladder.")
    growth_needed: int = strawberry.field(description="Growth still missing for the next tier.")
    percent: float = strawberry.field(description="From this tier's entry to the next, 0-100.")


@strawberry.type(name="Member")
class MemberType:
    id: strawberry.ID
    external_id: str = strawberry.field(description="The brand's own id for the member.")
    display_name: str
    birthday: date | None
    joined_at: datetime
    points_balance: int = strawberry.field(description="Spendable points: the ledger's sum.")
    growth: int = strawberry.field(description="Qualifying value that places the member.")
    lifetime_points: int = strawberry.field(description="All points ever earned.")
    pk: strawberry.Private[int]
    tier_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, member: Member) -> MemberType:
        return cls(
            id=strawberry.ID(encode_id("Member", member.id)),
            external_id=member.external_id,
            display_name=member.display_name,
            birthday=member.birthday,
            joined_at=member.joined_at,
            points_balance=member.points_balance,
            growth=member.growth,
            lifetime_points=member.lifetime_points,
            pk=member.id,
            tier_id=member.tier_id,
        )

    @strawberry.field
    async def tier(self, info: Info[Context, None]) -> TierType:
        tier = await info.context.tier_by_id.load(self.tier_id)
        if tier is None:  # a foreign key guarantees it; this would be a corrupt database
            raise RuntimeError(f"member {self.pk} has no tier {self.tier_id}")
        return TierType.from_model(tier)

    @strawberry.field(description="Distance to the next tier of the ladder in force.")
    async def tier_progress(self, info: Info[Context, None]) -> TierProgressType:
        tiers = await info.context.ladder.tiers()
        current = await info.context.tier_by_id.load(self.tier_id)
        rules = [t.to_rule() for t in tiers]
        rank = current.rank if current is not None else 0
        at = next((r for r in rules if r.rank == rank), rules[0])
        progress = tier_progress(rules, current=at, growth=self.growth)
        next_tier = next((t for t in tiers if progress.next and t.rank == progress.next.rank), None)
        return TierProgressType(
            next_tier=TierType.from_model(next_tier) if next_tier else None,
            growth_needed=progress.growth_needed,
            percent=progress.percent,
        )

    @strawberry.field(description="The points ledger, newest first.")
    async def ledger(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[LedgerEntryType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        rows, has_next = await ledger_page(
            member_id=self.pk, first=first, before_id=decode_cursor(after)
        )
        return Connection[LedgerEntryType].build(
            rows, has_next=has_next, key=lambda e: e.id, node=LedgerEntryType.from_model
        )


@strawberry.type(description="The award was written, or had been written under this key.")
class PointsAwarded:
    entry: LedgerEntryType
    member: MemberType
    replayed: bool = strawberry.field(
        description="True when the idempotency key was used before: entry is the first award "
        "and nothing new was written."
    )


@strawberry.type
class MemberEnrolled:
    member: MemberType
    created: bool = strawberry.field(
        description="False when the external id was enrolled before; the member is unchanged."
    )


AwardPointsResult = Annotated[
    PointsAwarded | ValidationFailed | NotFoundType | IdempotencyConflictType,
    strawberry.union("AwardPointsResult"),
]
EnrollMemberResult = Annotated[
    MemberEnrolled | ValidationFailed, strawberry.union("EnrollMemberResult")
]
