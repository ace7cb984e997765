"""The programme as the event path reads it: one snapshot per process, reloaded on change.

Recording an event needs the whole programme — event types, active growth tasks, badges,
the ladder versions and their tiers, the seasons and their points multipliers — and that
changes a few times a day while events arrive hundreds of times a second. So each process
keeps one :class:`Programme`, tagged with the *stamp* it was loaded at.

The stamp is decided by the database: triggers on every catalogue table set
``programme_stamp.stamp`` to a fresh random value in the transaction of the change
(migration 0021), whoever makes it — a marketer's mutation, a ladder publish, a worker's
season switch, another machine. The event path reads the stamp inside its own transaction,
in a statement it sends anyway, and reloads the snapshot before using it when the stamp
differs. So the next event after a committed change, in any process, sees the change.

The stamp is random rather than a counter: a test database truncated or copied back to a
fresh file would count again from the same number, and a snapshot cached under that number
would be served for another programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from app.models import (
    Badge,
    EarningRule,
    EarningRuleVersion,
    EventType,
    GrowthTask,
    LadderVersion,
    LadderVersionStatus,
    Season,
    SeasonalBenefit,
    TaskStatus,
    Tier,
)
from app.services.programme.stamp import read_stamp
from gamification.activity.engine import EventTypeRule, GrowthWeights
from gamification.badges import BadgeRule
from gamification.benefits import BenefitKind
from gamification.rules.engine import EarningRule as CompiledRule
from gamification.rules.engine import compile_rule, stacking_order
from gamification.shared.calendar import Season as CalendarSeason
from gamification.tasks import TaskRule
from gamification.tiers.ladder import TierRule


@dataclass(frozen=True, slots=True)
class ProgrammeTier:
    id: int
    ladder_version_id: int
    code: str
    rank: int
    multiplier: Decimal
    rule: TierRule


@dataclass(frozen=True, slots=True)
class ProgrammeLadder:
    """A published ladder version and its tiers, lowest rank first."""

    id: int
    number: int
    effective_at: datetime
    weights: GrowthWeights
    tiers: tuple[ProgrammeTier, ...]

    def by_rank(self, rank: int) -> ProgrammeTier | None:
        return next((t for t in self.tiers if t.rank == rank), None)


@dataclass(frozen=True, slots=True)
class ProgrammeBadge:
    id: int
    rule: BadgeRule


@dataclass(frozen=True, slots=True)
class ProgrammeSeason:
    span: CalendarSeason
    # (tier codes, factor) of each points multiplier the season gives.
    multipliers: tuple[tuple[frozenset[str], Decimal], ...]


@dataclass(frozen=True, slots=True)
class ProgrammeRule:
    """An earning rule's versions, compiled once, latest effective first: the one in force
    at a moment is the first not effective after it."""

    id: int
    versions: tuple[tuple[datetime, CompiledRule], ...]

    def in_force(self, now: datetime) -> CompiledRule | None:
        return next((rule for since, rule in self.versions if since <= now), None)


@dataclass(frozen=True, slots=True)
class Programme:
    """Everything the event path reads of the programme, as one immutable snapshot."""

    stamp: int
    event_types: dict[str, EventTypeRule]  # active ones, by code
    tasks: dict[str, tuple[TaskRule, ...]]  # active tasks by the event type they count
    badges: tuple[ProgrammeBadge, ...]
    ladders: tuple[ProgrammeLadder, ...]  # published, latest effective first
    tiers: dict[int, ProgrammeTier]  # every tier of every version, by id
    seasons: tuple[ProgrammeSeason, ...]  # not archived
    rules: tuple[ProgrammeRule, ...] = ()  # earning rules not archived
    # The rules in force per event type, in stacking order, and the span of time they are
    # in force for (between two effective dates of any version): filled as events ask. A
    # snapshot is replaced, never changed, so an entry stays true for its span.
    _in_force: dict[str, tuple[datetime | None, datetime | None, tuple[CompiledRule, ...]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def rules_for(self, event_type: str, now: datetime) -> tuple[CompiledRule, ...]:
        """The earning rules of ``event_type`` in force at ``now``, in stacking order
        (empty, at the cost of one test, when the programme has none)."""
        if not self.rules:
            return ()
        cached = self._in_force.get(event_type)
        if cached is not None:
            since, until, found = cached
            if (since is None or since <= now) and (until is None or now < until):
                return found
        found = stacking_order(
            [r for p in self.rules if (r := p.in_force(now)) and r.event_type == event_type]
        )
        dates = [since for p in self.rules for since, _ in p.versions]
        self._in_force[event_type] = (
            max((d for d in dates if d <= now), default=None),
            min((d for d in dates if d > now), default=None),
            found,
        )
        return found

    def ladder_at(self, now: datetime) -> ProgrammeLadder | None:
        """The published version with the latest effective date not after ``now``."""
        return next((ladder for ladder in self.ladders if ladder.effective_at <= now), None)

    def tasks_for(self, event_type: str) -> tuple[TaskRule, ...]:
        return self.tasks.get(event_type, ())

    def seasons_running(self, at: datetime) -> list[CalendarSeason]:
        return [s.span for s in self.seasons if s.span.starts_at <= at < s.span.ends_at]

    def seasonal_multiplier(self, tier_code: str, at: datetime) -> Decimal:
        """The largest points factor the seasons running at ``at`` give ``tier_code`` (1 when
        none does): seasons do not stack, the best one applies."""
        factors = [
            factor
            for season in self.seasons
            if season.span.starts_at <= at < season.span.ends_at
            for codes, factor in season.multipliers
            if tier_code in codes
        ]
        return max(factors, default=Decimal(1))


async def load(conn: BaseDBAsyncClient) -> Programme:
    """Read the whole programme through ``conn`` (the caller's transaction, if any)."""
    stamp = await read_stamp(conn)
    event_types = {t.code: t.to_rule() for t in await EventType.filter(active=True).using_db(conn)}
    tasks: dict[str, list[TaskRule]] = {}
    for task in (
        await GrowthTask.filter(status=TaskStatus.ACTIVE)
        .using_db(conn)
        .select_related("season")
        .order_by("id")
    ):
        tasks.setdefault(task.event_type, []).append(task.to_rule())
    badges = tuple(
        ProgrammeBadge(id=b.id, rule=b.to_rule())
        for b in await Badge.all().using_db(conn).order_by("id")
    )
    tiers = {
        t.id: ProgrammeTier(
            id=t.id,
            ladder_version_id=t.ladder_version_id,
            code=t.code,
            rank=t.rank,
            multiplier=t.multiplier,
            rule=t.to_rule(),
        )
        for t in await Tier.all().using_db(conn).order_by("rank")
    }
    ladders = tuple(
        ProgrammeLadder(
            id=v.id,
            number=v.number,
            effective_at=v.effective_at,
            weights=v.growth_weights(),
            tiers=tuple(t for t in tiers.values() if t.ladder_version_id == v.id),
        )
        for v in await LadderVersion.filter(
            status=LadderVersionStatus.PUBLISHED, effective_at__isnull=False
        )
        .using_db(conn)
        .order_by("-effective_at", "-number")
        if v.effective_at is not None
    )
    multipliers: dict[int, list[tuple[frozenset[str], Decimal]]] = {}
    for season_id, codes, value in (
        await SeasonalBenefit.filter(
            benefit__kind=BenefitKind.POINTS_MULTIPLIER, benefit__archived_at__isnull=True
        )
        .using_db(conn)
        .values_list("season_id", "tier_codes", "benefit__value")
    ):
        multipliers.setdefault(season_id, []).append(
            (frozenset(codes), Decimal(str(value["factor"])))
        )
    seasons = tuple(
        ProgrammeSeason(
            span=CalendarSeason(id=s.id, starts_at=s.starts_at, ends_at=s.ends_at),
            multipliers=tuple(multipliers.get(s.id, ())),
        )
        for s in await Season.filter(archived_at__isnull=True).using_db(conn).order_by("id")
    )
    versions: dict[int, list[tuple[datetime, CompiledRule]]] = {}
    rules = {r.id: r for r in await EarningRule.filter(archived_at__isnull=True).using_db(conn)}
    for v in (
        await EarningRuleVersion.filter(rule_id__in=list(rules))
        .using_db(conn)
        .order_by("-effective_from", "-number")
        if rules
        else []
    ):
        rule = rules[v.rule_id]
        versions.setdefault(v.rule_id, []).append(
            (
                v.effective_from,
                compile_rule(
                    id=rule.id,
                    code=rule.code,
                    name=rule.name,
                    version=v.number,
                    event_type=v.event_type,
                    condition=v.condition,
                    effect=v.effect_value(),
                    priority=v.priority,
                    group=v.exclusive_group,
                    pick=v.group_pick,
                    starts_at=v.starts_at,
                    ends_at=v.ends_at,
                    budget=v.budget(),
                ),
            )
        )
    return Programme(
        stamp=stamp,
        rules=tuple(ProgrammeRule(id, tuple(found)) for id, found in sorted(versions.items())),
        event_types=event_types,
        tasks={code: tuple(rules) for code, rules in tasks.items()},
        badges=badges,
        ladders=ladders,
        tiers=tiers,
        seasons=seasons,
    )


class ProgrammeCache:
    """The snapshot of each database this process talks to, by connection name."""

    def __init__(self) -> None:
        self._snapshots: dict[str, Programme] = {}

    def cached(self, conn: BaseDBAsyncClient) -> Programme | None:
        return self._snapshots.get(conn.connection_name)

    async def at(self, conn: BaseDBAsyncClient, stamp: int) -> Programme:
        """The programme at ``stamp`` (read by the caller inside its transaction): the
        cached snapshot when it carries that stamp, else a fresh one read through ``conn``.

        A snapshot is kept only when the stamp did not move while it was read (a change
        committed in between would make it a mix of two programmes)."""
        snapshot = self._snapshots.get(conn.connection_name)
        if snapshot is not None and snapshot.stamp == stamp:
            return snapshot
        fresh = await load(conn)
        if fresh.stamp == stamp and await read_stamp(conn) == stamp:
            self._snapshots[conn.connection_name] = fresh
        return fresh

    async def current(self, conn: BaseDBAsyncClient) -> Programme:
        """The programme now, for callers that read no stamp of their own (one statement
        when the cache is current)."""
        return await self.at(conn, await read_stamp(conn))

    def forget(self) -> None:
        self._snapshots.clear()


programme_cache = ProgrammeCache()
