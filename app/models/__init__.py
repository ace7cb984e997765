"""Tortoise models, one module per domain. Tortoise discovers them through this package."""

from app.models.members import Member
from app.models.points import PointsLedgerEntry
from app.models.tiers import LadderVersion, LadderVersionStatus, Tier, TierChange, TierChangeReason

__all__ = [
    "LadderVersion",
    "LadderVersionStatus",
    "Member",
    "PointsLedgerEntry",
    "Tier",
    "TierChange",
    "TierChangeReason",
]
