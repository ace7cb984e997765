"""The append-only points ledger."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION as _ENUM
from gamification.points.ledger import LedgerKind, LedgerSource

if TYPE_CHECKING:
    from app.models.members import Member


class PointsLedgerEntry(Model):
    """One change to the points of one member.

    Rows are never updated or deleted, and a zero delta is meaningless: migration 0002 makes
    the database refuse both. A correction is a new row.
    """

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name="ledger", on_delete=fields.RESTRICT
    )
    delta = fields.BigIntField()
    kind = fields.CharEnumField(LedgerKind, max_length=16, description=_ENUM)
    reason = fields.CharField(max_length=200)
    source = fields.CharEnumField(LedgerSource, max_length=32, description=_ENUM)
    idempotency_key = fields.CharField(max_length=128)
    balance_after = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    # The earning rule and its version that awarded the row (null for anything else).
    rule_id = fields.IntField(null=True)
    rule_version = fields.IntField(null=True)

    member_id: int

    class Meta:
        table = "points_ledger"
        unique_together = (("source", "idempotency_key"),)
        indexes = (("member_id", "id"),)


class PendingStatus(StrEnum):
    """Where pending points are: held, in the balance, or taken back before release."""

    PENDING = "pending"
    RELEASED = "released"
    CANCELLED = "cancelled"


class PendingPoints(Model):
    """Points an event earned that wait out its type's return window before they reach the
    ledger and the balance (app/services/points/pending.py releases them)."""

    id = fields.BigIntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "laurel.Member", related_name=False, on_delete=fields.RESTRICT
    )
    event_id = fields.BigIntField(unique=True)
    points = fields.BigIntField()
    reason = fields.CharField(max_length=200)
    release_at = fields.DatetimeField()
    status = fields.CharEnumField(
        PendingStatus, max_length=16, default=PendingStatus.PENDING, description=_ENUM
    )
    created_at = fields.DatetimeField()
    released_at = fields.DatetimeField(null=True)

    member_id: int

    class Meta:
        table = "pending_points"
        indexes = (("status", "release_at"), ("member_id", "status"))


class PointsFlowSlot(Model):
    """The ledger rows of one UTC quarter hour and one kind, added up (points flow reads it).

    ``slot`` is the quarter hour as epoch seconds // 900 of ``created_at`` (an integer, so
    both dialects compare it alike). Written only by app/services/points/rollup.py, which
    folds settled quarter hours from the ledger and says what keeps it exact.
    """

    id = fields.BigIntField(primary_key=True)
    slot = fields.BigIntField()
    kind = fields.CharEnumField(LedgerKind, max_length=16, description=_ENUM)
    # Sum of the positive deltas, sum of all deltas, and how many rows.
    credited = fields.BigIntField()
    net = fields.BigIntField()
    entries = fields.BigIntField()

    class Meta:
        table = "points_flow_rollup"
        unique_together = (("slot", "kind"),)


class PointsFlowFold(Model):
    """How far the points flow rollup is folded: one row, id 1, created by the first fold."""

    id = fields.IntField(primary_key=True)
    # Every slot below this one is in the rollup, none from it on.
    folded_until = fields.BigIntField()
    folded_at = fields.DatetimeField()

    class Meta:
        table = "points_flow_fold"
