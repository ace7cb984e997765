"""A member's GDPR rights through GraphQL: a copy of everything held about it (exportMember,
built by a job, downloaded from /exports/members/{id}) and erasure (eraseMember)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.members.types import MemberType
from app.api.shared.context import Context
from app.api.shared.enums import described_enum
from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id, input_id, require_id
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.models import MemberExport, MemberExportStatus
from app.services.members.exports import request_export
from app.services.members.privacy import erase_member

MemberExportStatusType = described_enum(
    MemberExportStatus,
    name="MemberExportStatus",
    description="Where an export of a member's data stands.",
    values={
        "QUEUED": "Waiting for the member_exports job (it runs every minute).",
        "RUNNING": "Being written; rows and sizeBytes grow as it goes.",
        "DONE": "Ready: download it from downloadUrl until expiresAt.",
        "FAILED": "Could not be built (error says why); ask for a new export.",
    },
)
# Who may ask for a member's data and download it: the brand's back end (answering the
# member's request) and admins; never marketers.
EXPORTERS = (Role.ADMIN, Role.SERVICE)


def download_path(export_id: int) -> str:
    return f"/exports/members/{encode_id('MemberExport', export_id)}"


@strawberry.type(
    name="MemberExportJob",
    description="An export of everything Laurel holds about one member, as one JSON "
    "document (GDPR access), built by a background job; poll memberExportJob until DONE, "
    "then GET downloadUrl with an admin or service bearer token.",
)
class MemberExportJobType:
    id: strawberry.ID = strawberry.field(description="Opaque id of the export.")
    member_id: strawberry.ID = strawberry.field(description="The member exported (a Member id).")
    status: MemberExportStatusType = strawberry.field(description="Where the export stands.")  # type: ignore[valid-type]
    requested_at: datetime = strawberry.field(description="When it was asked for (UTC).")
    finished_at: datetime | None = strawberry.field(
        description="When the document was complete (UTC); null until DONE."
    )
    expires_at: datetime | None = strawberry.field(
        description="When the document is deleted (UTC), 7 days after it is done; null until DONE."
    )
    rows: int = strawberry.field(description="Rows of data written so far (the progress).")
    size_bytes: int = strawberry.field(description="Bytes of JSON written so far.")
    download_url: str | None = strawberry.field(
        description="Where to GET the document (a path on this API; needs an admin or "
        "service bearer token); null until DONE."
    )
    error: str | None = strawberry.field(description="Why it FAILED; null otherwise.")

    @classmethod
    def from_model(cls, export: MemberExport) -> MemberExportJobType:
        done = export.status is MemberExportStatus.DONE
        return cls(
            id=strawberry.ID(encode_id("MemberExport", export.id)),
            member_id=strawberry.ID(encode_id("Member", export.member_id)),
            status=export.status,
            requested_at=export.requested_at,
            finished_at=export.finished_at,
            expires_at=export.expires_at,
            rows=export.items,
            size_bytes=export.size_bytes,
            download_url=download_path(export.id) if done else None,
            error=export.error or None,
        )


@strawberry.type(description="The member's personal data is erased.")
class MemberErasure:
    member: MemberType = strawberry.field(description="The member as it is now: pseudonymised.")
    changed: bool = strawberry.field(
        description="False when the member was erased before: nothing was written."
    )


ExportMemberResult = Annotated[
    MemberExportJobType | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union(
        "ExportMemberResult", description="The export job started, or why it did not."
    ),
]
EraseMemberResult = Annotated[
    MemberErasure | ValidationFailed | NotFoundType | ForbiddenType,
    strawberry.union("EraseMemberResult", description="The erasure, or why nothing was erased."),
]
MemberId = Annotated[strawberry.ID, strawberry.argument(description="A Member id.")]


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(
        description="Start an export of everything held about a member (GDPR access): "
        "profile, ledger, events, task progress, badges, tier history, grants, redemptions, "
        "notifications, board scores, facts and the audit entries about it, as one JSON "
        "document built by a job (admins, services; audited as member.export). An erased "
        "member is ValidationFailed on id.",
        extensions=[roles(*EXPORTERS)],
    )
    @typed_failures
    async def export_member(self, info: Info[Context, None], id: MemberId) -> ExportMemberResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Member", argument="id")
        export = await request_export(member_id=pk, actor=actor, now=info.context.now)
        return MemberExportJobType.from_model(export)

    @strawberry.mutation(
        description="Erase a member's personal data (GDPR erasure; admins only; audited as "
        'member.erase; irreversible). The name becomes "Erased member", the external id a '
        "pseudonym (erased-...), birthday, time zone, locale, event attributes and "
        "notification texts are cleared, the member leaves every board, is deactivated for "
        "good and its tokens are refused. Points, tier history and counts stay. Erasing an "
        "erased member changes nothing (changed: false).",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def erase_member(
        self,
        info: Info[Context, None],
        id: MemberId,
        confirm: Annotated[
            str,
            strawberry.argument(
                description="The member's external id, exactly as stored: proof that the "
                "right member is being erased. Anything else is ValidationFailed on confirm."
            ),
        ],
    ) -> EraseMemberResult:
        actor = audit_actor(info)
        pk = input_id(id, kind="Member", argument="id")
        erasure = await erase_member(
            member_id=pk, confirm=confirm, actor=actor, now=info.context.now
        )
        return MemberErasure(member=MemberType.from_model(erasure.member), changed=erasure.changed)


@strawberry.type
class PrivacyQueries:
    @strawberry.field(
        description="An export started with exportMember; null when there is none (or it "
        "expired). Admins and services.",
        extensions=[roles(*EXPORTERS)],
    )
    async def member_export_job(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A MemberExportJob id.")],
    ) -> MemberExportJobType | None:
        export = await MemberExport.get_or_none(
            id=require_id(id, kind="MemberExport", argument="id")
        )
        return None if export is None else MemberExportJobType.from_model(export)
