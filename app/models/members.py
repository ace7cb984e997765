"""Members of the loyalty programme, their running balances and the facts kept about them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM

if TYPE_CHECKING:
    from app.models.tiers import Tier


class Member(Model):
    """A member of the programme with running balances.

    The points balance always equals the sum of the member's ledger rows; it only ever
    changes by a single atomic UPDATE beside the ledger row that explains it.
    """

    # The first docstring line becomes the table comment, which Tortoise's SQLite migrations
    # neither escape nor keep intact around ';': keep that line free of quotes and ';'.

    id = fields.BigIntField(primary_key=True)
    external_id = fields.CharField(max_length=128, unique=True)
    display_name = fields.CharField(max_length=80)
    birthday = fields.DateField(null=True)
    # IANA zone name (e.g. Europe/Paris) and BCP 47 language tag (e.g. fr-CA); null: unknown.
    time_zone = fields.CharField(max_length=64, null=True)
    locale = fields.CharField(max_length=35, null=True)
    # Database defaults too: the column is added to existing rows, and the bulk import, the
    # benches and some tests insert members with SQL of their own.
    marketing_opt_out = fields.BooleanField(default=False, db_default=False)
    joined_at = fields.DatetimeField()
    tier: fields.ForeignKeyRelation[Tier] = fields.ForeignKeyField(
        "laurel.Tier", related_name="members", on_delete=fields.RESTRICT
    )
    points_balance = fields.BigIntField(default=0)
    growth = fields.BigIntField(default=0)
    lifetime_points = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Set while the member is deactivated: events and redemptions are refused, points do
    # not expire, and the member is off every board (leaderboard_member.member_active).
    deactivated_at = fields.DatetimeField(null=True)
    deactivation_reason = fields.CharField(max_length=200, default="", db_default="")
    # Set when the member was merged into another (the same person enrolled twice): its
    # external id resolves to that member, and it is deactivated for good. Always the final
    # survivor: a later merge of the survivor moves these pointers on (no chains).
    merged_into: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, null=True, on_delete=fields.RESTRICT, db_index=True
    )
    # Set once, when the member's personal data was erased (GDPR Art. 17): the row stays,
    # pseudonymised, so the ledger and the analytics keep their member
    # (app/services/members/privacy.py).
    erased_at = fields.DatetimeField(null=True, db_index=True)

    tier_id: int
    merged_into_id: int | None

    class Meta:
        table = "member"


class MemberFact(Model):
    """A running count about a member that badges and tier requirements read."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=100)
    value = fields.BigIntField()

    member_id: int

    class Meta:
        table = "member_fact"
        unique_together = (("member_id", "key"),)


class MemberExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class MemberExport(Model):
    """A requested copy of everything held about one member (GDPR Art. 15), built by a job.

    The document is kept in parts (member_export_part) until ``expires_at``, then deleted
    by the job; erasing the member deletes it at once (app/services/members/exports.py).
    """

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(MemberExportStatus, max_length=16, description=_ENUM)
    requested_by = fields.CharField(max_length=200)
    requested_role = fields.CharField(max_length=16)
    requested_at = fields.DatetimeField()
    # Progress while it runs: the items (rows) and bytes written so far.
    items = fields.BigIntField(default=0)
    size_bytes = fields.BigIntField(default=0)
    finished_at = fields.DatetimeField(null=True)
    # Set when done: the document is deleted after this.
    expires_at = fields.DatetimeField(null=True)
    error = fields.CharField(max_length=500, default="")

    member_id: int

    class Meta:
        table = "member_export"
        indexes = (("status", "id"), ("member_id", "id"))


class MemberExportPart(Model):
    """A piece of the JSON document of an export, the download joins them in seq order."""

    id = fields.BigIntField(primary_key=True)
    export: fields.ForeignKeyRelation[MemberExport] = fields.ForeignKeyField(
        "laurel.MemberExport", related_name=False, on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    body = fields.TextField()

    export_id: int

    class Meta:
        table = "member_export_part"
        unique_together = (("export_id", "seq"),)
