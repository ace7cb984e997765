"""GraphQL types of members and their points."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.benefits.types import BenefitGrantStatus, BenefitGrantType
from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import (
    ForbiddenType,
    MemberInactiveType,
    MemberMergedAwayType,
    NotFoundType,
    ValidationFailed,
)
from app.api.shared.ids import decode_cursor, encode_id
from app.api.shared.pagination import After, Connection, First, check_page_size, rows_before
from app.api.shared.permissions import member_or_staff
from app.api.shared.scalars import Amount
from app.api.tasks.types import TaskCondition, TaskWindow
from app.api.tiers.types import TierType
from app.models import Member, PointsLedgerEntry
from app.services.activity.events import MemberState
from app.services.badges.progress import MemberPoints
from app.services.benefits.grants import MemberGrants
from app.services.leaderboards.boards import opted_out
from app.services.notifications.inbox import notifications_page
from app.services.points.ledger import ledger_page
from app.services.points.pending import Pending
from app.services.programme.snapshot import ProgrammeTier
from app.services.tasks.progress import MemberRank
from gamification.badges import LEVEL_NAMES
from gamification.benefits import GrantStatus
from gamification.points.ledger import LedgerKind as LedgerKindEnum
from gamification.tiers.ladder import tier_status

LedgerKind = described_enum(
    LedgerKindEnum,
    name="LedgerKind",
    description="Why a points ledger row exists; the balance is the sum of rows of every kind.",
    values={
        "EARN": "Points earned: by an event (with tier and seasonal multipliers) or an "
        "admin's awardPoints.",
        "SPEND": "Points spent on a reward (redeemPoints).",
        "EXPIRE": "Points that expired unspent.",
        "ADJUST": "An admin's correction (adjustPoints) or what an event reversal took back.",
        "TRANSFER": "Points moved by mergeMembers: out of the duplicate (negative), into the "
        "survivor (positive).",
    },
)


@strawberry.type(name="LedgerEntry", description="One row of the append-only points ledger.")
class LedgerEntryType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the row.")
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    kind: LedgerKind = strawberry.field(description="Why the row exists.")  # type: ignore[valid-type]
    reason: str = strawberry.field(
        description="Why, in words: the event type, the reward, or the admin's reason."
    )
    balance_after: int = strawberry.field(description="The spendable balance right after it.")
    created_at: datetime = strawberry.field(description="When it was written (UTC).")

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
    current: TierType = strawberry.field(description="The tier held now.")
    next: TierType | None = strawberry.field(description="Null at the top of the ladder.")
    growth: int = strawberry.field(
        description="The member's growth (tier score, not points) in the evaluation window."
    )
    growth_to_next: int = strawberry.field(description="Growth still missing for the next tier.")
    percent: float = strawberry.field(
        description="From this tier's entry to the next, 0-100 (100 at the top)."
    )
    next_evaluation_at: datetime = strawberry.field(
        description="When tiers are next evaluated, UTC (demotion is only ever decided then)."
    )
    at_risk: bool = strawberry.field(
        description="True when growth is below what keeps the current tier."
    )
    retention_gap: int = strawberry.field(
        description="Growth still missing to keep the current tier (0 when safe)."
    )


@strawberry.type(name="MemberTask", description="A task the member can work on now.")
class MemberTaskType:
    code: str = strawberry.field(description="The task's stable code.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="What to do, for the member to read.")
    event_type: str = strawberry.field(description="The event type code that counts.")
    condition: TaskCondition = strawberry.field(description="How events count.")  # type: ignore[valid-type]
    target: int = strawberry.field(
        description="Events, amount or days (as the condition counts) needed to complete it."
    )
    window: TaskWindow = strawberry.field(description="The period progress is counted over.")  # type: ignore[valid-type]
    progress: Amount = strawberry.field(
        description="Towards target: events, amount, or days, as the condition counts."
    )
    window_ends_at: datetime | None = strawberry.field(
        description="When the current window ends and progress resets, UTC (exclusive); null "
        "for lifetime tasks."
    )
    completions_in_window: int = strawberry.field(
        description="Times the member completed it in the current window."
    )
    remaining_cap: int | None = strawberry.field(
        description="Completions the member has left in all; null when unlimited."
    )
    reward_points: int = strawberry.field(
        description="Points a completion gives, before tier and seasonal multipliers."
    )
    reward_growth: int = strawberry.field(description="Growth a completion gives.")
    completed: bool = strawberry.field(
        default=False,
        description="True: done for now (its cap, or its limit in the current window, is "
        "reached); such tasks are listed with tasks(includeCompleted: true).",
    )


@strawberry.type(name="MemberBadge", description="A badge with the member's level in it.")
class MemberBadgeType:
    code: str = strawberry.field(description="The badge's stable code.")
    name: str = strawberry.field(description="Display name.")
    level: int = strawberry.field(description="Levels earned; 0 when not yet earned.")
    levels: int = strawberry.field(description="How many levels the badge has.")
    level_name: str | None = strawberry.field(
        description="bronze, silver, gold, platinum or diamond for the level earned; null for "
        "a one-level badge or none earned."
    )
    value: int = strawberry.field(description="The member's count towards the badge.")
    next_threshold: int | None = strawberry.field(
        description="The value the next level needs (progress is value of nextThreshold); "
        "null when fully earned."
    )
    hidden: bool = strawberry.field(description="A hidden badge is listed only once earned.")


@strawberry.type(name="Notification", description="A message in a member's inbox.")
class NotificationType:
    id: strawberry.ID = strawberry.field(description="Opaque id, for markNotificationsRead(ids).")
    kind: str = strawberry.field(
        description="What it is about, e.g. task_completed, badge_earned, tier_up, reward_redeemed."
    )
    title: str = strawberry.field(description="Short headline, for the member to read.")
    body: str = strawberry.field(
        description="The message, e.g. what a promotion unlocked or what keeps a tier."
    )
    data: JSON = strawberry.field(
        description="Machine-readable details of the kind (codes, amounts), a JSON object."
    )
    created_at: datetime = strawberry.field(description="When it was sent (UTC).")
    read: bool = strawberry.field(description="True once marked as read.")


@strawberry.type(
    name="PendingPoints",
    description="Points an event earned that wait out its type's return window: not in the "
    "balance, not spendable, not expiring, until released.",
)
class PendingPointsType:
    points: int = strawberry.field(description="The points held.")
    reason: str = strawberry.field(description="What earned them, for the member to read.")
    release_at: datetime = strawberry.field(
        description="When they are credited to the balance (UTC), unless the event is "
        "reversed first (a return inside the window cancels them)."
    )
    event_id: strawberry.ID = strawberry.field(description="Opaque id of the event.")

    @classmethod
    def from_pending(cls, pending: Pending) -> PendingPointsType:
        return cls(
            points=pending.points,
            reason=pending.reason,
            release_at=pending.release_at,
            event_id=strawberry.ID(encode_id("Event", pending.event_id)),
        )


def _this_member(member: MemberType, _: dict[str, Any]) -> int:
    return member.pk


@strawberry.type(
    name="Member",
    description="A member of the programme. A member token reads only itself; marketers, "
    "admins and services read every member.",
)
class MemberType:
    id: strawberry.ID = strawberry.field(description="Opaque id, stable for the member's life.")
    external_id: str = strawberry.field(description="The brand's own id for the member.")
    display_name: str = strawberry.field(description="The name shown, e.g. on leaderboards.")
    birthday: date | None = strawberry.field(
        description="ISO 8601 date (no year-less form); null when unknown."
    )
    joined_at: datetime = strawberry.field(description="When the member joined (UTC).")
    points_balance: int = strawberry.field(description="Spendable points: the ledger's sum.")
    growth: int = strawberry.field(
        description="Growth (tier score): the qualifying value that places the member on the "
        "ladder, not spendable; spending points never lowers it."
    )
    lifetime_points: int = strawberry.field(
        description="All points ever earned (spending and expiry do not lower it)."
    )
    time_zone: str | None = strawberry.field(
        description="The member's IANA time zone, e.g. Europe/Paris; null when unknown."
    )
    locale: str | None = strawberry.field(
        description="The member's language as a BCP 47 tag, e.g. fr-CA; null when unknown."
    )
    marketing_opt_out: bool = strawberry.field(
        description="True when the member asked not to receive marketing messages."
    )
    active: bool = strawberry.field(
        description="False while an admin has the member deactivated: its events and "
        "redemptions are refused (MemberInactive), its points do not expire, it is on no board."
    )
    deactivated_at: datetime | None = strawberry.field(
        description="When the member was deactivated (UTC); null while active."
    )
    merged_into_id: strawberry.ID | None = strawberry.field(
        description="The member this one was merged into (mergeMembers: the same person "
        "enrolled twice); null unless merged away. A merged-away member stays deactivated."
    )
    erased_at: datetime | None = strawberry.field(
        description="When the member's personal data was erased (eraseMember; UTC): the name, "
        "external id and profile are placeholders from then on. Null: not erased."
    )
    pk: strawberry.Private[int]
    tier_id: strawberry.Private[int]
    # The programme stamp read in the statement that read the member (None: not read so),
    # which names the programme snapshot its tier belongs to.
    programme_stamp: strawberry.Private[int | None]

    @classmethod
    def from_model(
        cls, member: Member | MemberState, *, programme_stamp: int | None = None
    ) -> MemberType:
        """From the row, or from the state an event left it in (read under the event's lock)."""
        return cls(
            id=strawberry.ID(encode_id("Member", member.id)),
            external_id=member.external_id,
            display_name=member.display_name,
            birthday=member.birthday,
            joined_at=member.joined_at,
            points_balance=member.points_balance,
            growth=member.growth,
            lifetime_points=member.lifetime_points,
            time_zone=member.time_zone,
            locale=member.locale,
            marketing_opt_out=member.marketing_opt_out,
            active=member.deactivated_at is None,
            deactivated_at=member.deactivated_at,
            # An event's MemberState has none: events are never recorded for a merged member.
            merged_into_id=(
                strawberry.ID(encode_id("Member", merged))
                if (merged := getattr(member, "merged_into_id", None)) is not None
                else None
            ),
            # An event's member state is never an erased member's (its events are refused).
            erased_at=getattr(member, "erased_at", None),
            pk=member.id,
            tier_id=member.tier_id,
            programme_stamp=programme_stamp,
        )

    @strawberry.field(
        description="True when the member asked to be on no public board (it still sees its "
        "own rank); set with updateMember or setLeaderboardVisibility.",
        extensions=[member_or_staff(_this_member)],
    )
    async def leaderboard_opt_out(self, info: Info[Context, None]) -> bool:
        return await opted_out(member_id=self.pk)

    @strawberry.field(
        description="Points held in return windows, the soonest released first: visible, "
        "not spendable (not in pointsBalance) until their releaseAt.",
        extensions=[member_or_staff(_this_member)],
    )
    async def pending_points(self, info: Info[Context, None]) -> list[PendingPointsType]:
        found = await info.context.member_pending_points.load(self.pk)
        return [PendingPointsType.from_pending(p) for p in found]

    @strawberry.field(
        description="The sum of pendingPoints: points on their way, not in pointsBalance.",
        extensions=[member_or_staff(_this_member)],
    )
    async def pending_points_total(self, info: Info[Context, None]) -> int:
        return sum(p.points for p in await info.context.member_pending_points.load(self.pk))

    async def _held_tier(self, ctx: Context) -> ProgrammeTier:
        return await ctx.programme.tier(self.tier_id, stamp=self.programme_stamp)

    @strawberry.field(description="The tier the member holds now.")
    async def tier(self, info: Info[Context, None]) -> TierType:
        return TierType.from_programme(await self._held_tier(info.context))

    @strawberry.field(
        description="Tier, next tier, distance and risk, under the ladder in force.",
        extensions=[member_or_staff(_this_member)],
    )
    async def tier_progress(self, info: Info[Context, None]) -> TierProgressType:
        ctx = info.context
        programme = await ctx.programme.at(self.programme_stamp)
        tiers = ctx.programme.ladder_tiers_of(programme)
        rank = ctx.programme.tier_of(programme, self.tier_id).rank
        current = next((t for t in tiers if t.rank == rank), tiers[0])
        status = tier_status(
            [t.rule for t in tiers],
            current=current.rule,
            growth=self.growth,
            now=ctx.now,
            zone=ctx.settings.zone,
            evaluation_day_of_month=ctx.settings.evaluation_day_of_month,
        )
        progress = status.progress
        upcoming = next((t for t in tiers if progress.next and t.rank == progress.next.rank), None)
        return TierProgressType(
            current=TierType.from_programme(current),
            next=TierType.from_programme(upcoming) if upcoming else None,
            growth=self.growth,
            growth_to_next=progress.growth_needed,
            percent=progress.percent,
            next_evaluation_at=status.next_evaluation_at,
            at_risk=status.at_risk,
            retention_gap=status.retention_gap,
        )

    @strawberry.field(
        description="Tasks available now, with progress in their current window.",
        extensions=[member_or_staff(_this_member)],
    )
    async def tasks(
        self,
        info: Info[Context, None],
        include_completed: Annotated[
            bool,
            strawberry.argument(
                description="True: also the tasks the member has completed and cannot "
                "complete again for now, marked completed (so a finished task stays in view)."
            ),
        ] = False,
    ) -> list[MemberTaskType]:
        ctx = info.context
        held = await self._held_tier(ctx)
        views = await ctx.member_tasks.load(MemberRank(self.pk, held.rank))
        return [
            MemberTaskType(
                code=v.rule.code,
                name=v.rule.name,
                description=v.description,
                event_type=v.rule.event_type,
                condition=v.rule.condition,
                target=v.rule.target,
                window=v.rule.window,
                progress=Amount(v.progress),
                window_ends_at=v.window_ends_at,
                completions_in_window=v.completions_in_window,
                remaining_cap=v.remaining_cap,
                reward_points=v.rule.reward_points,
                reward_growth=v.rule.reward_growth,
                completed=v.completed,
            )
            for v in views
            if include_completed or not v.completed
        ]

    @strawberry.field(
        description="Visible badges (hidden ones once earned), with progress.",
        extensions=[member_or_staff(_this_member)],
    )
    async def badges(self, info: Info[Context, None]) -> list[MemberBadgeType]:
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
        description="How many hidden badges the member has not earned yet (their names are "
        'not told: a member\'s page may show each as "?").',
        extensions=[member_or_staff(_this_member)],
    )
    async def hidden_badges_to_find(self, info: Info[Context, None]) -> int:
        return await info.context.hidden_badges.load(self.pk)

    @strawberry.field(
        description="The member's benefit grants of a status (ACTIVE unless asked; null: "
        "all), oldest first. ACTIVE ones include those not valid yet.",
        extensions=[member_or_staff(_this_member)],
    )
    async def benefits(
        self,
        info: Info[Context, None],
        status: Annotated[
            BenefitGrantStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only grants of this status; null: every grant."),
        ] = GrantStatus.ACTIVE,
    ) -> list[BenefitGrantType]:
        ctx = info.context
        grants = await ctx.member_benefits.load(MemberGrants(self.pk, status))
        return [BenefitGrantType.from_model(g, now=ctx.now) for g in grants]

    @strawberry.field(
        description="The member's inbox, newest first.", extensions=[member_or_staff(_this_member)]
    )
    async def notifications(
        self,
        info: Info[Context, None],
        first: First = 20,
        after: After = None,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only notifications not yet read.")
        ] = False,
    ) -> Connection[NotificationType]:
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
                data=JSON(n.data),
                created_at=n.created_at,
                read=n.read_at is not None,
            ),
        )

    @strawberry.field(
        description="The points ledger, newest first.", extensions=[member_or_staff(_this_member)]
    )
    async def ledger(
        self, info: Info[Context, None], first: First = 20, after: After = None
    ) -> Connection[LedgerEntryType]:
        check_page_size(first, maximum=info.context.settings.max_page_size)
        before = decode_cursor(after)
        rows, has_next = await ledger_page(member_id=self.pk, first=first, before_id=before)

        async def newest() -> int | None:
            found, _ = await ledger_page(member_id=self.pk, first=1, before_id=None)
            return found[0].id if found else None

        return Connection[LedgerEntryType].build(
            rows,
            has_next=has_next,
            key=lambda e: e.id,
            node=LedgerEntryType.from_model,
            previous=rows_before(before, newest, descending=True),
        )


@strawberry.type(description="The member is enrolled (now, or before under this external id).")
class MemberEnrolled:
    member: MemberType = strawberry.field(description="The member enrolled.")
    created: bool = strawberry.field(
        description="False when the external id was enrolled before; the member is unchanged."
    )


EnrollMemberResult = Annotated[
    MemberEnrolled | ValidationFailed | ForbiddenType,
    strawberry.union(
        "EnrollMemberResult",
        description="MemberEnrolled, or: ValidationFailed (an empty or too long externalId or "
        "displayName, a birthday or joinedAt in the future), Forbidden (not a service or an "
        "admin).",
    ),
]


@strawberry.input(
    description="A member's profile: only the fields given change; null clears a field that "
    "may be empty (birthday, timeZone, locale)."
)
class UpdateMemberInput:
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name shown: 1-80 printable characters."
    )
    birthday: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="ISO 8601 date (e.g. 1990-05-17), not in the future; birthday benefits "
        "follow it.",
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An IANA time zone name, e.g. Europe/Paris or America/New_York.",
    )
    locale: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A BCP 47 language tag: language, optional script, region and variants, "
        "e.g. en, fr-CA, zh-Hant-TW (stored in the usual case).",
    )
    marketing_opt_out: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: the member receives no marketing messages.",
    )
    leaderboard_opt_out: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: the member is on no public board (it still sees its own rank).",
    )


@strawberry.type(description="The member's profile is saved (and audited).")
class MemberUpdated:
    member: MemberType = strawberry.field(description="The member as saved.")


UpdateMemberResult = Annotated[
    MemberUpdated | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "UpdateMemberResult",
        description="MemberUpdated, or: ValidationFailed (the problems listed, by input field; "
        "nothing was written), NotFound (no such member), Forbidden (not an admin or a "
        "service).",
    ),
]


@strawberry.type(
    description="The member is deactivated or reactivated as asked (or already was; audited "
    "when it changed)."
)
class MemberStatusChanged:
    member: MemberType = strawberry.field(description="The member as it is now.")
    changed: bool = strawberry.field(
        description="False when the member already was in that state: nothing was written."
    )


MemberStatusResult = Annotated[
    MemberStatusChanged | ValidationFailed | NotFoundType | MemberMergedAwayType | ForbiddenType,
    strawberry.union(
        "MemberStatusResult",
        description="MemberStatusChanged, or: ValidationFailed (an empty or too long reason), "
        "NotFound (no such member), MemberMergedAway (reactivating a member merged into "
        "another), Forbidden (not an admin or a service).",
    ),
]


@strawberry.type(
    description="The duplicate is merged into the survivor (or was before: changed false)."
)
class MembersMerged:
    survivor: MemberType = strawberry.field(
        description="The member that holds both now: balances, history, badges, tier."
    )
    duplicate: MemberType = strawberry.field(
        description="The member merged away: deactivated, mergedIntoId the survivor's id; its "
        "external id resolves to the survivor."
    )
    changed: bool = strawberry.field(
        description="False when the duplicate was merged into the survivor before: nothing "
        "was written."
    )


MergeMembersResult = Annotated[
    MembersMerged
    | ValidationFailed
    | NotFoundType
    | MemberMergedAwayType
    | MemberInactiveType
    | ForbiddenType,
    strawberry.union(
        "MergeMembersResult",
        description="MembersMerged, or: ValidationFailed (a bad id, or the same member twice), "
        "NotFound (no such member), MemberMergedAway (either member was merged into another "
        "before), MemberInactive (the survivor is deactivated), Forbidden (not an admin or a "
        "service).",
    ),
]
