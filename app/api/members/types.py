"""GraphQL types of members and their points."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.benefits.types import BenefitGrantStatus, BenefitGrantType
from app.api.context import Context
from app.api.errors import ForbiddenType, IdempotencyConflictType, NotFoundType, ValidationFailed
from app.api.ids import decode_cursor, encode_id
from app.api.pagination import Connection, check_page_size, rows_before
from app.api.permissions import require_member_access
from app.api.scalars import Amount
from app.api.tiers.types import TierType
from app.models import Member, PointsLedgerEntry
from app.services.benefits import MemberGrants
from app.services.points import ledger_page
from app.services.progress import MemberPoints, MemberRank, notifications_page
from gamification.badges import LEVEL_NAMES
from gamification.benefits import GrantStatus
from gamification.calendar import Window
from gamification.ladder import tier_status
from gamification.points import LedgerKind as LedgerKindEnum
from gamification.tasks import Condition

LedgerKind = strawberry.enum(LedgerKindEnum, name="LedgerKind")
TaskCondition = strawberry.enum(Condition, name="TaskCondition")
TaskWindow = strawberry.enum(Window, name="TaskWindow")


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


@strawberry.type(name="TierProgress", description="Where the member stands on the ladder.")
class TierProgressType:
    current: TierType
    next: TierType | None = strawberry.field(description="Null at the top of the ladder.")
    growth: int
    growth_to_next: int = strawberry.field(description="Growth still missing for the next tier.")
    percent: float = strawberry.field(description="From this tier's entry to the next, 0-100.")
    next_evaluation_at: datetime = strawberry.field(
        description="When tiers are next evaluated (demotion is only ever decided then)."
    )
    at_risk: bool = strawberry.field(
        description="True when growth is below what keeps the current tier."
    )
    retention_gap: int = strawberry.field(
        description="Growth still missing to keep the current tier (0 when safe)."
    )


@strawberry.type(name="MemberTask", description="A task the member can work on now.")
class MemberTaskType:
    code: str
    name: str
    description: str
    event_type: str
    condition: TaskCondition  # type: ignore[valid-type]
    target: int
    window: TaskWindow  # type: ignore[valid-type]
    progress: Amount = strawberry.field(  # type: ignore[valid-type]
        description="Towards target: events, amount, or days, as the condition counts."
    )
    window_ends_at: datetime | None = strawberry.field(description="Null for lifetime tasks.")
    completions_in_window: int
    remaining_cap: int | None = strawberry.field(description="Null when unlimited.")
    reward_points: int
    reward_growth: int


@strawberry.type(name="MemberBadge", description="A badge with the member's level in it.")
class MemberBadgeType:
    code: str
    name: str
    level: int = strawberry.field(description="Levels earned; 0 when not yet earned.")
    levels: int = strawberry.field(description="How many levels the badge has.")
    level_name: str | None = strawberry.field(description="bronze, silver, gold, ...")
    value: int = strawberry.field(description="The member's count towards the badge.")
    next_threshold: int | None = strawberry.field(description="Null when fully earned.")
    hidden: bool


@strawberry.type(name="Notification")
class NotificationType:
    id: strawberry.ID
    kind: str
    title: str
    body: str
    data: JSON
    created_at: datetime
    read: bool


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

    @strawberry.field(description="Tier, next tier, distance and risk, under the ladder in force.")
    async def tier_progress(self, info: Info[Context, None]) -> TierProgressType:
        require_member_access(info, self.pk)
        ctx = info.context
        tiers = await ctx.ladder.tiers()
        held = await ctx.tier_by_id.load(self.tier_id)
        rank = held.rank if held is not None else 0
        current = next((t for t in tiers if t.rank == rank), tiers[0])
        status = tier_status(
            [t.to_rule() for t in tiers],
            current=current.to_rule(),
            growth=self.growth,
            now=ctx.now,
            zone=ctx.settings.zone,
            evaluation_day_of_month=ctx.settings.evaluation_day_of_month,
        )
        progress = status.progress
        upcoming = next((t for t in tiers if progress.next and t.rank == progress.next.rank), None)
        return TierProgressType(
            current=TierType.from_model(current),
            next=TierType.from_model(upcoming) if upcoming else None,
            growth=self.growth,
            growth_to_next=progress.growth_needed,
            percent=progress.percent,
            next_evaluation_at=status.next_evaluation_at,
            at_risk=status.at_risk,
            retention_gap=status.retention_gap,
        )

    @strawberry.field(description="Tasks available now, with progress in their current window.")
    async def tasks(self, info: Info[Context, None]) -> list[MemberTaskType]:
        require_member_access(info, self.pk)
        ctx = info.context
        held = await ctx.tier_by_id.load(self.tier_id)
        views = await ctx.member_tasks.load(MemberRank(self.pk, held.rank if held else 0))
        return [
            MemberTaskType(
                code=v.rule.code,
                name=v.rule.name,
                description=v.description,
                event_type=v.rule.event_type,
                condition=v.rule.condition,
                target=v.rule.target,
                window=v.rule.window,
                progress=v.progress,
                window_ends_at=v.window_ends_at,
                completions_in_window=v.completions_in_window,
                remaining_cap=v.remaining_cap,
                reward_points=v.rule.reward_points,
                reward_growth=v.rule.reward_growth,
            )
            for v in views
        ]

    @strawberry.field(description="Visible badges (hidden ones once earned), with progress.")
    async def badges(self, info: Info[Context, None]) -> list[MemberBadgeType]:
        require_member_access(info, self.pk)
        found = await info.context.member_badges.load(MemberPoints(self.pk, self.lifetime_points))
        return [
            MemberBadgeType(
                code=p.badge.code,
                name=p.badge.name,
                level=p.level,
                levels=len(p.badge.thresholds),
                level_name=LEVEL_NAMES[p.level - 1]
                if p.level and len(p.badge.thresholds) > 1
                else None,
                value=p.value,
                next_threshold=p.next_threshold,
                hidden=p.badge.hidden,
            )
            for p in found
        ]

    @strawberry.field(
        description="The member's benefit grants of a status (ACTIVE unless asked; null: "
        "all), oldest first. ACTIVE ones include those not valid yet."
    )
    async def benefits(
        self,
        info: Info[Context, None],
        status: BenefitGrantStatus | None = GrantStatus.ACTIVE,  # type: ignore[valid-type]
    ) -> list[BenefitGrantType]:
        require_member_access(info, self.pk)
        ctx = info.context
        grants = await ctx.member_benefits.load(MemberGrants(self.pk, status))
        return [BenefitGrantType.from_model(g, now=ctx.now) for g in grants]

    @strawberry.field(description="The member's inbox, newest first.")
    async def notifications(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[NotificationType]:
        require_member_access(info, self.pk)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        before = decode_cursor(after)
        rows, has_next = await notifications_page(
            member_id=self.pk, first=first, before_id=before, unread_only=unread_only
        )

        async def newest() -> int | None:
            found, _ = await notifications_page(
                member_id=self.pk, first=1, before_id=None, unread_only=unread_only
            )
            return found[0].id if found else None

        return Connection[NotificationType].build(
            rows,
            has_next=has_next,
            previous=rows_before(before, newest, descending=True),
            key=lambda n: n.id,
            node=lambda n: NotificationType(
                id=strawberry.ID(encode_id("Notification", n.id)),
                kind=n.kind,
                title=n.title,
                body=n.body,
                data=n.data,
                created_at=n.created_at,
                read=n.read_at is not None,
            ),
        )

    @strawberry.field(description="The points ledger, newest first.")
    async def ledger(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[LedgerEntryType]:
        require_member_access(info, self.pk)
        check_page_size(first, maximum=info.context.settings.max_page_size)
        before = decode_cursor(after)
        rows, has_next = await ledger_page(member_id=self.pk, first=first, before_id=before)

        async def newest() -> int | None:
            found, _ = await ledger_page(member_id=self.pk, first=1, before_id=None)
            return found[0].id if found else None

        return Connection[LedgerEntryType].build(
            rows, has_next=has_next, key=lambda e: e.id, node=LedgerEntryType.from_model,
            previous=rows_before(before, newest, descending=True),
        )  # fmt: skip


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


@strawberry.type(description="The correction was written, or had been under this key.")
class PointsAdjusted:
    entry: LedgerEntryType
    member: MemberType
    replayed: bool


@strawberry.type
class NotificationsMarked:
    marked: int = strawberry.field(description="Notifications newly marked as read.")
    unread: int = strawberry.field(description="Unread notifications left.")


AdjustPointsResult = Annotated[
    PointsAdjusted | ValidationFailed | NotFoundType | IdempotencyConflictType | ForbiddenType,
    strawberry.union("AdjustPointsResult"),
]
AwardPointsResult = Annotated[
    PointsAwarded | ValidationFailed | NotFoundType | IdempotencyConflictType | ForbiddenType,
    strawberry.union("AwardPointsResult"),
]
MarkNotificationsReadResult = Annotated[
    NotificationsMarked | ValidationFailed | ForbiddenType,
    strawberry.union("MarkNotificationsReadResult"),
]
EnrollMemberResult = Annotated[
    MemberEnrolled | ValidationFailed | ForbiddenType, strawberry.union("EnrollMemberResult")
]
