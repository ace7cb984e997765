"""Mutations on members: enrolling them, changing their profile, deactivating and
reactivating them, merging two that are one person."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import (
    EnrollMemberResult,
    MemberEnrolled,
    MembersMerged,
    MemberStatusChanged,
    MemberStatusResult,
    MemberType,
    MemberUpdated,
    MergeMembersResult,
    UpdateMemberInput,
    UpdateMemberResult,
)
from app.api.shared.context import Context
from app.api.shared.ids import input_id
from app.api.shared.partial_updates import given_changes
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.services.members import lifecycle
from app.services.members.enrollment import enroll_member
from app.services.members.merging import merge_members

MemberId = Annotated[strawberry.ID, strawberry.argument(description="A Member id.")]


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
        description="Change a member's profile: name, birthday, time zone, locale, marketing "
        "and leaderboard opt-outs (admins, services; audited). Only the fields given change.",
        extensions=[roles(Role.ADMIN, Role.SERVICE)],
    )
    @typed_failures
    async def update_member(
        self,
        info: Info[Context, None],
        id: MemberId,
        input: Annotated[
            UpdateMemberInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> UpdateMemberResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Member", argument="id")
        changes = given_changes(input, nullable=("birthday", "time_zone", "locale"))
        ctx = info.context
        member = await lifecycle.update_member(
            member_id=pk, changes=changes, actor=actor, now=ctx.now, zone=ctx.settings.zone
        )
        return MemberUpdated(member=MemberType.from_model(member))

    @strawberry.mutation(
        description="Deactivate a member (admins, services; audited): its events and "
        "redemptions are refused with MemberInactive, its points do not expire, it leaves "
        "every board. Deactivating a deactivated member changes nothing (changed: false).",
        extensions=[roles(Role.ADMIN, Role.SERVICE)],
    )
    @typed_failures
    async def deactivate_member(
        self,
        info: Info[Context, None],
        id: MemberId,
        reason: Annotated[
            str,
            strawberry.argument(description="Why, 1-200 characters, e.g. the account is closed."),
        ],
    ) -> MemberStatusResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Member", argument="id")
        change = await lifecycle.deactivate_member(
            member_id=pk, reason=reason, actor=actor, now=info.context.now
        )
        return MemberStatusChanged(
            member=MemberType.from_model(change.member), changed=change.changed
        )

    @strawberry.mutation(
        description="Reactivate a deactivated member (admins, services; audited): its events, "
        "redemptions, point expiry and boards work as before. Reactivating an active member "
        "changes nothing (changed: false).",
        extensions=[roles(Role.ADMIN, Role.SERVICE)],
    )
    @typed_failures
    async def reactivate_member(
        self, info: Info[Context, None], id: MemberId
    ) -> MemberStatusResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Member", argument="id")
        change = await lifecycle.reactivate_member(member_id=pk, actor=actor, now=info.context.now)
        return MemberStatusChanged(
            member=MemberType.from_model(change.member), changed=change.changed
        )

    @strawberry.mutation(
        description="Merge a member enrolled twice into the other (admins, services; audited): "
        "the duplicate's points (moved by a pair of TRANSFER ledger rows), lifetime points, "
        "growth, history, task progress, badges, active days, benefit grants and board scores "
        "move to the survivor, which is promoted as far as the combined growth reaches. The "
        "duplicate is deactivated for good; its external id resolves to the survivor. Merging "
        "the same pair again changes nothing (changed: false).",
        extensions=[roles(Role.ADMIN, Role.SERVICE)],
    )
    @typed_failures
    async def merge_members(
        self,
        info: Info[Context, None],
        survivor_id: Annotated[
            strawberry.ID, strawberry.argument(description="The Member id that is kept.")
        ],
        duplicate_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The Member id merged into the survivor."),
        ],
    ) -> MergeMembersResult:
        actor = audit_actor(info)
        survivor = input_id(survivor_id, kind="Member", argument="survivorId")
        duplicate = input_id(duplicate_id, kind="Member", argument="duplicateId")
        merge = await merge_members(
            survivor_id=survivor, duplicate_id=duplicate, actor=actor, now=info.context.now
        )
        return MembersMerged(
            survivor=MemberType.from_model(merge.survivor),
            duplicate=MemberType.from_model(merge.duplicate),
            changed=merge.changed,
        )
