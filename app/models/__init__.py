"""Tortoise models, one module per domain. Tortoise discovers them through this package."""

from app.models.activity import Event, EventReversal, EventType, Notification, OutboxMessage
from app.models.audit import AuditEntry
from app.models.benefits import Benefit, BenefitGrant, SeasonalBenefit, TierBenefit
from app.models.members import Member
from app.models.points import PointsLedgerEntry
from app.models.rewards import Redemption, Reward
from app.models.tasks import (
    Badge,
    GrowthTask,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    Season,
    TaskCompletion,
    TaskProgressRow,
    TaskStatus,
)
from app.models.tiers import LadderVersion, LadderVersionStatus, Tier, TierChange, TierChangeReason

__all__ = [
    "AuditEntry",
    "Badge",
    "Benefit",
    "BenefitGrant",
    "Event",
    "EventReversal",
    "EventType",
    "GrowthTask",
    "LadderVersion",
    "LadderVersionStatus",
    "Member",
    "MemberActiveDay",
    "MemberBadge",
    "MemberFact",
    "Notification",
    "OutboxMessage",
    "PointsLedgerEntry",
    "Redemption",
    "Reward",
    "Season",
    "SeasonalBenefit",
    "TaskCompletion",
    "TaskProgressRow",
    "TaskStatus",
    "Tier",
    "TierBenefit",
    "TierChange",
    "TierChangeReason",
]
