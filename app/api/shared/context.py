"""The per-request context: settings, the request clock and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from app.api.members.dataloaders import (
    hidden_badges_loader,
    member_badges_loader,
    member_benefits_loader,
    member_by_id_loader,
    member_pending_points_loader,
    member_tasks_loader,
)
from app.api.tiers.dataloaders import ProgrammeLoader
from app.auth import Principal
from app.config import Settings
from app.models import BenefitGrant, Member
from app.services.badges.progress import MemberPoints
from app.services.benefits.grants import MemberGrants
from app.services.leaderboards.reads import BoardReader
from app.services.members.reads import MembersRead
from app.services.notifications.updates import UpdateBroker
from app.services.points.pending import Pending
from app.services.tasks.progress import MemberRank, TaskView
from gamification.badges import BadgeProgress


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    metrics: Any
    # Where live updates come from (the app's broker; see app/services/notifications/updates.py).
    updates: UpdateBroker
    # Who answers leaderboard reads: the Redis index, or SQL (app/services/leaderboards/reads.py).
    boards: BoardReader
    # The authenticated caller (None: anonymous), set by BearerAuthMiddleware or, on a
    # WebSocket, by connection_init.
    principal: Principal | None = None
    # What a WebSocket client sent in connection_init (strawberry fills it in).
    connection_params: dict[str, Any] | None = None
    # The signed-in member and the programme stamp, read ahead by the home-screen cache
    # (app/api/members/home_cache.py) for the ``me`` resolver to take.
    me_read: MembersRead | None = None
    # One clock reading per request, so every field of a response agrees on "now".
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    member_by_id: DataLoader[int, Member | None] = field(default_factory=member_by_id_loader)
    member_badges: DataLoader[MemberPoints, list[BadgeProgress]] = field(
        default_factory=member_badges_loader
    )
    hidden_badges: DataLoader[int, int] = field(default_factory=hidden_badges_loader)
    member_pending_points: DataLoader[int, list[Pending]] = field(
        default_factory=member_pending_points_loader
    )
    # The catalogue (tiers, the ladder in force) from the per-process programme snapshot.
    programme: ProgrammeLoader = field(init=False)
    member_tasks: DataLoader[MemberRank, list[TaskView]] = field(init=False)
    member_benefits: DataLoader[MemberGrants, list[BenefitGrant]] = field(init=False)

    def __post_init__(self) -> None:
        self.programme = ProgrammeLoader(now=self.now)
        self.member_tasks = member_tasks_loader(now=self.now, zone=self.settings.zone)
        self.member_benefits = member_benefits_loader(now=self.now)
