"""Tortoise models, one module per domain. Tortoise discovers them through this package."""

from app.models.activity import Event, EventReversal, EventType, MemberActiveDay
from app.models.badges import Badge, MemberBadge
from app.models.benefits import Benefit, BenefitGrant, SeasonalBenefit, TierBenefit
from app.models.documents import TrustedDocument, TrustedManifest
from app.models.jobs import JobRun, JobRunStatus, JobTally
from app.models.leaderboards import Leaderboard, LeaderboardMember, LeaderboardScore
from app.models.members import (
    Member,
    MemberExport,
    MemberExportPart,
    MemberExportStatus,
    MemberFact,
)
from app.models.notifications import Notification, OutboxMessage
from app.models.points import (
    PendingPoints,
    PendingStatus,
    PointsFlowFold,
    PointsFlowSlot,
    PointsLedgerEntry,
)
from app.models.rewards import CouponCode, Redemption, Reward
from app.models.rules import EarningRule, EarningRuleSpend, EarningRuleVersion
from app.models.seasons import Season, SeasonSwitch
from app.models.shared.audit import AuditEntry
from app.models.tasks import GrowthTask, TaskCompletion, TaskProgressRow, TaskStatus
from app.models.tiers import (
    EvaluationStep,
    LadderVersion,
    LadderVersionStatus,
    Tier,
    TierChange,
    TierChangeReason,
    TierEvaluation,
    TierEvaluationMember,
)
from app.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AuditEntry",
    "Badge",
    "Benefit",
    "BenefitGrant",
    "CouponCode",
    "DeliveryStatus",
    "EarningRule",
    "EarningRuleSpend",
    "EarningRuleVersion",
    "EvaluationStep",
    "Event",
    "EventReversal",
    "EventType",
    "GrowthTask",
    "JobRun",
    "JobRunStatus",
    "JobTally",
    "LadderVersion",
    "LadderVersionStatus",
    "Leaderboard",
    "LeaderboardMember",
    "LeaderboardScore",
    "Member",
    "MemberActiveDay",
    "MemberBadge",
    "MemberExport",
    "MemberExportPart",
    "MemberExportStatus",
    "MemberFact",
    "Notification",
    "OutboxMessage",
    "PendingPoints",
    "PendingStatus",
    "PointsFlowFold",
    "PointsFlowSlot",
    "PointsLedgerEntry",
    "Redemption",
    "Reward",
    "Season",
    "SeasonSwitch",
    "SeasonalBenefit",
    "TaskCompletion",
    "TaskProgressRow",
    "TaskStatus",
    "Tier",
    "TierBenefit",
    "TierChange",
    "TierChangeReason",
    "TierEvaluation",
    "TierEvaluationMember",
    "TrustedDocument",
    "TrustedManifest",
    "WebhookDelivery",
    "WebhookEndpoint",
]
