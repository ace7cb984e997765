"""Recording member activity: each event, all its consequences, in one transaction.

One event is a batch of one: :func:`record_events` is the path (see it for the round trips).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from app.dialect import Dialect, Read, Statement
from app.models import TierChange, TierChangeReason
from app.services.benefits.grants import grant_running_season_benefits, grant_tier_benefits
from app.services.leaderboards.scores import changed_keys, changes_for
from app.services.notifications.outbox import outbox_written
from app.services.programme.snapshot import (
    Programme,
    ProgrammeLadder,
    ProgrammeTier,
    programme_cache,
)
from app.services.programme.stamp import STAMP_SQL
from app.services.rules.budgets import MemberSpend, earn, explain_earning
from app.services.shared.errors import (
    IdempotencyConflict,
    InvalidInput,
    MemberInactive,
    MemberMergedAway,
    NotFound,
    ProgrammeNotConfigured,
    ServiceError,
)
from gamification.activity.attributes import check_attributes
from gamification.activity.engine import (
    Completion,
    EventTypeRule,
    LedgerLine,
    MemberSnapshot,
    Outcome,
    event_points,
    process_event,
)
from gamification.activity.engine import Event as EngineEvent
from gamification.activity.events import check_event, payload_hash
from gamification.leaderboards import Metric, reached_second, scope_of
from gamification.points.ledger import LedgerKind, LedgerSource
from gamification.rules.engine import NO_EARNING
from gamification.shared.calendar import Season as CalendarSeason
from gamification.shared.calendar import local_day, window_for
from gamification.tasks import TaskProgress


@dataclass(frozen=True, slots=True)
class EventPolicy:
    """Programme settings that shape how events are accepted and counted."""

    zone: ZoneInfo
    backfill_window: timedelta = timedelta(days=30)
    growth_window: timedelta = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class MemberState:
    """A member as an event left it (as it was before, in a dry run): what callers show
    beside the outcome, read under the batch's lock, so no second read is needed."""

    id: int
    external_id: str
    display_name: str
    birthday: date | None
    joined_at: datetime
    tier_id: int
    points_balance: int
    growth: int
    lifetime_points: int
    time_zone: str | None
    locale: str | None
    marketing_opt_out: bool
    deactivated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: dict[str, Any]
    duplicate: bool
    dry_run: bool
    event_id: int | None
    member: MemberState


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event of a batch, as a back end reports it (exactly one member reference)."""

    type: str
    occurred_at: datetime
    idempotency_key: str
    member_id: int | None = None
    external_member_id: str | None = None
    amount: Decimal = Decimal(0)
    attributes: Mapping[str, Any] | None = None


# The most events one recordEvents call (or one import chunk) carries.
MAX_BATCH = 500


class _StaleAlias(Exception):
    """An external id named a member merged away whose survivor the batch did not lock (the
    merge committed while the batch waited for the lock): the batch runs again."""


class _Rollback(Exception):
    """Raised to undo a dry run's writes once its results are known."""

    def __init__(self, results: list[Recorded | ServiceError]) -> None:
        self.results = results


async def record_event(
    *,
    member_id: int | None = None,
    external_member_id: str | None = None,
    type: str,
    occurred_at: datetime,
    amount: Decimal = Decimal(0),
    attributes: Mapping[str, Any] | None = None,
    idempotency_key: str,
    dry_run: bool = False,
    policy: EventPolicy,
    now: datetime,
) -> Recorded:
    """Record one event exactly once and apply what the engine decides (a batch of one:
    see :func:`record_events`); its expected failure is raised."""
    (result,) = await record_events(
        [
            EventInput(
                type=type,
                occurred_at=occurred_at,
                idempotency_key=idempotency_key,
                member_id=member_id,
                external_member_id=external_member_id,
                amount=amount,
                attributes=attributes,
            )
        ],
        dry_run=dry_run,
        policy=policy,
        now=now,
    )
    if isinstance(result, ServiceError):
        raise result
    return result


# Attempts of a batch that met a concurrent batch claiming one of its keys first.
_ATTEMPTS = 3


async def record_events(
    inputs: Sequence[EventInput], *, dry_run: bool = False, policy: EventPolicy, now: datetime
) -> list[Recorded | ServiceError]:
    """Record a batch: one result per input, in input order, each a :class:`Recorded` or
    the expected failure of that item (one bad item never fails the others).

    The batch is one transaction, set-based: lock the members (PostgreSQL: ``FOR UPDATE``,
    in id order, so that batches never deadlock; every event of one member queues there,
    so no snapshot goes stale), read their state and claim their active days, run the
    engine event by event in input order (a member's later events see the earlier ones),
    write everything with one multi-row statement per table. On PostgreSQL that is five
    round trips whatever the batch holds: BEGIN, lock, read+claim, write, COMMIT.

    An idempotency key recorded before replays its stored outcome (another payload under
    it is an :class:`IdempotencyConflict`); so does a key repeated within the batch. A
    key claimed by a concurrent transaction of another member's event fails the insert:
    the batch is rolled back and run again, and then finds the key recorded (as is a batch
    that PostgreSQL chose to undo in a deadlock over earning rules' campaign budgets). A
    dry run does all the work and rolls it back.
    """
    if not inputs:
        return []
    if len(inputs) > MAX_BATCH:
        raise InvalidInput.single("inputs", f"must hold at most {MAX_BATCH} events")
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with in_transaction() as conn:
                results, written = await _record(
                    conn, inputs, dry_run=dry_run, policy=policy, now=now
                )
                if dry_run:
                    raise _Rollback(results)
        except _Rollback as rolled_back:
            return [_as_dry_run(r) for r in rolled_back.results]
        except IntegrityError as error:
            if attempt == _ATTEMPTS or "idempotency_key" not in str(error):
                raise
            continue
        except _StaleAlias:
            if attempt == _ATTEMPTS:
                raise
            continue
        except OperationalError as error:
            # Two batches claiming the campaign budgets of two capped earning rules in
            # opposite orders: PostgreSQL undoes one of them, whole; it runs again.
            if attempt == _ATTEMPTS or "deadlock detected" not in str(error):
                raise
            continue
        if written:
            outbox_written()
        return results
    raise AssertionError("unreachable")  # pragma: no cover


def _as_dry_run(result: Recorded | ServiceError) -> Recorded | ServiceError:
    if isinstance(result, Recorded):
        return Recorded(
            result.outcome,
            duplicate=result.duplicate,
            dry_run=True,
            event_id=result.event_id if result.duplicate else None,
            member=result.member,
        )
    return result


@dataclass(slots=True)
class _Member:
    """A locked member row, moved on in memory as the batch's events apply."""

    id: int
    external_id: str
    display_name: str
    birthday: date | None
    joined_at: datetime
    tier_id: int
    growth: int
    points_balance: int
    lifetime_points: int
    time_zone: str | None
    locale: str | None
    marketing_opt_out: bool
    deactivated_at: datetime | None
    merged_into_id: int | None = None
    facts: dict[str, int] = field(default_factory=dict)
    held: dict[int, int] = field(default_factory=dict)  # badge id -> highest level
    progress: dict[tuple[int, str], TaskProgress] = field(default_factory=dict)
    # What the batch changed, for the one UPDATE of the row.
    points: int = 0  # to the balance
    lifetime_gained: int = 0  # to lifetime points (more when some are pending)
    growth_gained: int = 0
    tier_changed: bool = False

    def state(self) -> MemberState:
        return MemberState(
            id=self.id,
            external_id=self.external_id,
            display_name=self.display_name,
            birthday=self.birthday,
            joined_at=self.joined_at,
            tier_id=self.tier_id,
            points_balance=self.points_balance,
            growth=self.growth,
            lifetime_points=self.lifetime_points,
            time_zone=self.time_zone,
            locale=self.locale,
            marketing_opt_out=self.marketing_opt_out,
            deactivated_at=self.deactivated_at,
        )


@dataclass(slots=True)
class _Accepted:
    """An item that passed every check and is about to run through the engine."""

    index: int
    item: EventInput
    member: _Member
    event_type: EventTypeRule
    ladder: ProgrammeLadder
    fingerprint: str
    day: date
    keys: dict[int, str]  # task id -> key of the window the event falls in


async def _lock_members(
    conn: BaseDBAsyncClient, d: Dialect, inputs: Sequence[EventInput]
) -> tuple[dict[int, _Member], dict[str, _Member], int | None]:
    ids = sorted({i.member_id for i in inputs if i.member_id is not None})
    external = sorted({i.external_member_id for i in inputs if i.external_member_id is not None})
    by_id, by_id_params = d.any_of("id", ids, "bigint")
    by_external, by_external_params = d.any_of("external_id", external, "text")
    # The external id of a member merged away names its survivor: locked in the same
    # statement (and id order) as the rest.
    survivors, survivor_params = d.any_of("m.external_id", external, "text")
    rows = await d.rows(
        conn,
        Statement(
            "SELECT id, external_id, display_name, birthday, joined_at, tier_id, growth, "
            "points_balance, lifetime_points, time_zone, locale, marketing_opt_out, "
            "deactivated_at, merged_into_id, "
            f"{STAMP_SQL} AS stamp FROM member "
            # A union of three keyed reads, not ORs of them: PostgreSQL answers
            # "id = ANY(...) OR external_id = ANY(...) OR id IN (...)" by scanning every
            # member (76 ms a batch at 10,000 members, seen with auto_explain).
            f"WHERE id IN (SELECT id FROM member WHERE {by_id} "
            f"UNION ALL SELECT id FROM member WHERE {by_external} "
            "UNION ALL SELECT m.merged_into_id FROM member m "
            f"WHERE {survivors} AND m.merged_into_id IS NOT NULL) ORDER BY id{d.lock_rows}",
            by_id_params + by_external_params + survivor_params,
        ),
    )
    members = {
        r["id"]: _Member(
            id=r["id"],
            external_id=r["external_id"],
            display_name=r["display_name"],
            birthday=d.read_day(r["birthday"]),
            joined_at=d.read_moment(r["joined_at"]),
            tier_id=r["tier_id"],
            growth=r["growth"],
            points_balance=r["points_balance"],
            lifetime_points=r["lifetime_points"],
            time_zone=r["time_zone"],
            locale=r["locale"],
            marketing_opt_out=bool(r["marketing_opt_out"]),
            deactivated_at=(
                d.read_moment(r["deactivated_at"]) if r["deactivated_at"] is not None else None
            ),
            merged_into_id=r["merged_into_id"],
        )
        for r in rows
    }
    stamp = int(rows[0]["stamp"]) if rows else None
    return members, {m.external_id: m for m in members.values()}, stamp


def _accept(
    index: int,
    item: EventInput,
    *,
    by_id: dict[int, _Member],
    by_external: dict[str, _Member],
    programme: Programme | None,
    policy: EventPolicy,
    now: datetime,
) -> _Accepted | ServiceError:
    """The item ready for the engine, or why it cannot be recorded (checked in the order
    a single event always was: member, event type, the event itself, the ladder; a
    deactivated member's item is refused right after the member is found). The external
    id of a member merged away records for its survivor; its member id is refused."""
    if (item.member_id is None) == (item.external_member_id is None):
        return InvalidInput.single("memberId", "give exactly one of memberId and externalMemberId")
    member = (
        by_id.get(item.member_id)
        if item.member_id is not None
        else by_external.get(item.external_member_id or "")
    )
    if member is None or programme is None:
        key = item.member_id if item.member_id is not None else item.external_member_id
        return NotFound("Member", key)
    # The member the item named: its id is part of the payload's fingerprint, so that a
    # retry by a merged-away member's external id replays what was recorded before.
    named = member
    if member.merged_into_id is not None:
        if item.member_id is not None:
            return MemberMergedAway(member.id, member.merged_into_id)
        survivor = by_id.get(member.merged_into_id)
        if survivor is None or survivor.merged_into_id is not None:
            raise _StaleAlias()
        member = survivor
    if member.deactivated_at is not None:
        return MemberInactive(member.id)
    event_type = programme.event_types.get(item.type)
    if event_type is None:
        return NotFound("EventType", item.type)
    attributes = dict(item.attributes or {})
    problems = check_event(
        amount=item.amount,
        occurred_at=item.occurred_at,
        attributes=attributes,
        idempotency_key=item.idempotency_key,
        joined_at=member.joined_at,
        now=now,
        backfill_window=policy.backfill_window,
    )
    if event_type.attributes is not None:
        problems += check_attributes(event_type.attributes, attributes)
    if problems:
        return InvalidInput(problems)
    ladder = programme.ladder_at(now)
    if ladder is None or not ladder.tiers:
        return ProgrammeNotConfigured()
    keys = {
        task.id: span.key
        for task in programme.tasks_for(item.type)
        if (span := window_for(task.window, item.occurred_at, zone=policy.zone, season=task.season))
    }
    return _Accepted(
        index=index,
        item=item,
        member=member,
        event_type=event_type,
        ladder=ladder,
        fingerprint=payload_hash(
            member_id=named.id,
            type=item.type,
            occurred_at=item.occurred_at,
            amount=item.amount,
            attributes=attributes,
        ),
        day=local_day(item.occurred_at, zone=policy.zone),
        keys=keys,
    )


async def _record(
    conn: BaseDBAsyncClient,
    inputs: Sequence[EventInput],
    *,
    dry_run: bool,
    policy: EventPolicy,
    now: datetime,
) -> tuple[list[Recorded | ServiceError], bool]:
    """The batch's results, and whether it wrote anything."""
    d = Dialect(conn)
    by_id, by_external, stamp = await _lock_members(conn, d, inputs)
    before = {member_id: m.state() for member_id, m in by_id.items()}

    def shown(member: _Member) -> MemberState:
        return before[member.id] if dry_run else member.state()

    programme = await programme_cache.at(conn, stamp) if stamp is not None else None
    results: list[Recorded | ServiceError | None] = [None] * len(inputs)
    accepted: list[_Accepted] = []
    for index, item in enumerate(inputs):
        checked = _accept(
            index,
            item,
            by_id=by_id,
            by_external=by_external,
            programme=programme,
            policy=policy,
            now=now,
        )
        if isinstance(checked, ServiceError):
            results[index] = checked
        else:
            accepted.append(checked)
    if not accepted or programme is None:
        return _all(results), False

    members = sorted({a.member.id for a in accepted})
    capped = sorted(
        {
            rule.id
            for a in accepted
            for rule in programme.rules_for(a.item.type, now)
            if rule.budget.member_capped
        }
    )
    state = await _read_state(conn, d, accepted, members, capped)
    spent = MemberSpend(state.get("spend", []))
    for member_id, key, value in state["facts"]:
        by_id[member_id].facts[key] = int(value)
    for member_id, badge_id, level in state["badges"]:
        by_id[member_id].held[badge_id] = int(level)
    for member_id, task_id, window_key, count, total, days, streak, last_day, done in state.get(
        "progress", []
    ):
        by_id[member_id].progress[(task_id, window_key)] = TaskProgress(
            task_id=task_id,
            window_key=window_key,
            count=count,
            total=Decimal(str(total)),
            days=days,
            streak=streak,
            last_day=d.read_day(last_day),
            completions=done,
        )
    recorded_before = {
        key: (event_id, fingerprint, d.read_json(outcome))
        for key, event_id, fingerprint, outcome in state["existing"]
    }
    claimed = {(member_id, d.read_day(day)) for member_id, day in state["claim"]}
    event_ids = [row[0] for row in state["ids:event"]]
    outbox_ids = [row[0] for row in state["ids:outbox"]]

    writes = _Writes(d, now=now, zone=policy.zone)
    badge_ids = {b.rule.code: b.id for b in programme.badges}
    days_used: set[tuple[int, date | None]] = set()
    for a in accepted:
        key = a.item.idempotency_key
        if key in recorded_before:
            event_id, fingerprint, outcome = recorded_before[key]
            results[a.index] = (
                Recorded(
                    outcome,
                    duplicate=True,
                    dry_run=False,
                    event_id=event_id,
                    member=shown(a.member),
                )
                if fingerprint == a.fingerprint
                else IdempotencyConflict(key)
            )
            continue
        member = a.member
        held_tier = programme.tiers[member.tier_id]
        current = a.ladder.by_rank(held_tier.rank) or a.ladder.tiers[0]
        tasks = programme.tasks_for(a.item.type)
        day = (member.id, a.day)
        first_of_day = day in claimed and day not in days_used
        days_used.add(day)
        multiplier = current.multiplier * programme.seasonal_multiplier(
            current.code, a.item.occurred_at
        )
        rules = programme.rules_for(a.item.type, now)
        earning = (
            await earn(
                conn,
                d,
                rules,
                member=member,
                tier_code=current.code,
                item=a.item,
                own_points=event_points(a.event_type, amount=a.item.amount, multiplier=multiplier),
                spent=spent,
                writes=writes.spend,
                zone=policy.zone,
                now=now,
            )
            if rules
            else NO_EARNING
        )
        outcome = process_event(
            event=EngineEvent(
                type=a.item.type, occurred_at=a.item.occurred_at, amount=a.item.amount
            ),
            event_type=a.event_type,
            member=MemberSnapshot(
                tier_rank=current.rank, growth=member.growth, lifetime_points=member.lifetime_points
            ),
            ladder=[t.rule for t in a.ladder.tiers],
            weights=a.ladder.weights,
            tasks=tasks,
            progress={
                (task_id, window_key): member.progress[(task_id, window_key)]
                for task_id, window_key in a.keys.items()
                if (task_id, window_key) in member.progress
            },
            completions_so_far={t.id: member.facts.get(f"task:{t.code}", 0) for t in tasks},
            facts=member.facts,
            badges=[b.rule for b in programme.badges],
            held_badges={b.rule.code: member.held.get(b.id, 0) for b in programme.badges},
            first_event_of_day=first_of_day,
            multiplier=multiplier,
            zone=policy.zone,
            now=now,
            growth_window=policy.growth_window,
            earning=earning,
        )
        summary = _summary(outcome, explain=bool(rules))
        pending_until = _pending_until(a, outcome)
        if pending_until is not None:
            summary["pointsPending"] = _own_points(outcome)
            summary["pendingUntil"] = pending_until.isoformat()
        event_id = event_ids.pop(0)
        writes.event(a, event_id=event_id, outcome=outcome, summary=summary)
        writes.outcome(
            member,
            event_id=event_id,
            outbox_id=outbox_ids.pop(0),
            outcome=outcome,
            summary=summary,
            at=a.item.occurred_at,
            seasons=programme.seasons_running(a.item.occurred_at),
            badge_ids=badge_ids,
            ladder=a.ladder,
            pending_until=pending_until,
        )
        recorded_before[key] = (event_id, a.fingerprint, summary)
        results[a.index] = Recorded(
            summary, duplicate=False, dry_run=False, event_id=event_id, member=shown(member)
        )

    # Days claimed for events that turned out to be recorded before: not active after all.
    writes.unclaim(claimed - days_used)
    await d.write_group(conn, writes.statements())
    for promotion in writes.promotions:
        await _promote(conn, promotion, now=now)
    return _all(results), bool(writes.events)


def _own(line: LedgerLine) -> bool:
    """The ledger line of the event's own points (what its type gives), not a task's
    reward nor an earning rule's award."""
    return line.task_id is None and line.rule_id is None


def _own_points(outcome: Outcome) -> int:
    return sum(line.delta for line in outcome.ledger if _own(line))


def _pending_until(a: _Accepted, outcome: Outcome) -> datetime | None:
    """When the event's own points leave the return window of its type (None: credited
    now). The window runs from when the event occurred, as a return window from the sale."""
    if a.event_type.pending_days <= 0 or _own_points(outcome) <= 0:
        return None
    return a.item.occurred_at + timedelta(days=a.event_type.pending_days)


def _all(results: list[Recorded | ServiceError | None]) -> list[Recorded | ServiceError]:
    done = [r for r in results if r is not None]
    assert len(done) == len(results), "every item of a batch has its result"
    return done


async def _read_state(
    conn: BaseDBAsyncClient,
    d: Dialect,
    accepted: list[_Accepted],
    members: list[int],
    capped: list[int],
) -> dict[str, list[list[Any]]]:
    """What the members have (facts, badge levels, progress in the windows the events fall
    in, what the rules with a member cap gave them), the batch's keys already recorded, and
    the batch's active days claimed — the first event of a member's local day is decided
    by the table itself — with the ids the rows to write will carry."""
    of_members, member_params = d.any_of("member_id", members, "bigint")
    reads = [
        Read("facts", "member_id, key, value", f"member_fact WHERE {of_members}", member_params),
        Read(
            "badges",
            "member_id, badge_id, max(level)",
            f"member_badge WHERE {of_members} GROUP BY member_id, badge_id",
            member_params,
        ),
    ]
    task_ids = sorted({t for a in accepted for t in a.keys})
    if task_ids:
        window_keys = sorted({k for a in accepted for k in a.keys.values()})
        of_tasks, task_params = d.any_of("task_id", task_ids, "int")
        of_windows, window_params = d.any_of("window_key", window_keys, "text")
        reads.append(
            Read(
                "progress",
                "member_id, task_id, window_key, count, total, days, streak, last_day, completions",
                f"task_progress WHERE {of_members} AND {of_tasks} AND {of_windows}",
                member_params + task_params + window_params,
            )
        )
    if capped:
        # The members are locked: what they were given is exact without a condition.
        of_rules, rule_params = d.any_of("rule_id", capped, "int")
        reads.append(
            Read(
                "spend",
                "rule_id, member_id, period_key, points, awards",
                f"earning_rule_spend WHERE {of_members} AND {of_rules}",
                member_params + rule_params,
            )
        )
    of_keys, key_params = d.any_of(
        "idempotency_key", sorted({a.item.idempotency_key for a in accepted}), "text"
    )
    reads.append(
        Read(
            "existing",
            "idempotency_key, id, payload_hash, outcome",
            f"event WHERE {of_keys}",
            key_params,
        )
    )
    days = sorted({(a.member.id, a.day) for a in accepted})
    relation, day_params = d.relation(days, (("member_id", "bigint"), ("day", "date")))
    # WHERE true: SQLite needs it to read ON CONFLICT as the upsert clause after a SELECT.
    claim = Statement(
        f"INSERT INTO member_active_day (member_id, day) SELECT member_id, day FROM {relation} "
        "WHERE true ON CONFLICT (member_id, day) DO NOTHING RETURNING member_id, day",
        day_params,
    )
    return await d.read_group(
        conn, reads, claim=claim, allocate={"event": len(accepted), "outbox": len(accepted)}
    )


@dataclass(frozen=True, slots=True)
class _Promotion:
    member_id: int
    from_tier_id: int
    to_tier: ProgrammeTier
    ladder_version_id: int


async def _promote(conn: BaseDBAsyncClient, promotion: _Promotion, *, now: datetime) -> None:
    """The history row of a promotion and what the new tier unlocks, in this transaction:
    its own benefits (again, for a member coming back to it) and those of the seasons
    running now that name it (each announced as benefits.granted)."""
    change = await TierChange.create(
        member_id=promotion.member_id,
        from_tier_id=promotion.from_tier_id,
        to_tier_id=promotion.to_tier.id,
        reason=TierChangeReason.PROMOTION,
        ladder_version_id=promotion.ladder_version_id,
        changed_at=now,
        using_db=conn,
    )
    code = promotion.to_tier.code
    await grant_tier_benefits(
        conn, member_id=promotion.member_id, tier_code=code, now=now, stay=change.id
    )
    await grant_running_season_benefits(
        conn, member_id=promotion.member_id, tier_code=code, now=now
    )


class _Writes:
    """The rows a batch writes, gathered per table while its events run, then written with
    one multi-row statement each (rows of one key merged: a statement may touch a row once)."""

    def __init__(self, d: Dialect, *, now: datetime, zone: ZoneInfo) -> None:
        self.d = d
        self.now = now
        # Ledger rows are stamped as written, by every writer of the ledger (the model's
        # auto_now_add): the points flow counts them by when they were written.
        self.written_at = datetime.now(UTC)
        self.zone = zone
        self.events: list[list[Any]] = []
        self.ledger: list[list[Any]] = []
        self.pending: list[list[Any]] = []
        self.completions: list[list[Any]] = []
        self.badges: list[list[Any]] = []
        self.notices: list[list[Any]] = []
        self.outbox: list[list[Any]] = []
        self.progress: dict[tuple[int, int, str], TaskProgress] = {}
        self.facts: dict[tuple[int, str], int] = {}
        self.scores: dict[tuple[int, Metric, str], list[Any]] = {}  # -> [delta, seq]
        self.members: dict[int, _Member] = {}
        self.promotions: list[_Promotion] = []
        self.unclaimed: list[tuple[int, date | None]] = []
        # (rule id, member id or 0, period key) -> [points, awards] the rules gave, added
        # to earning_rule_spend (campaign rows under a cap are added as they are claimed).
        self.spend: dict[tuple[int, int, str], list[int]] = {}

    def event(
        self, a: _Accepted, *, event_id: int, outcome: Outcome, summary: dict[str, Any]
    ) -> None:
        item = a.item
        self.events.append(
            [
                event_id,
                a.member.id,
                item.type,
                item.occurred_at,
                item.amount,
                dict(item.attributes or {}),
                item.idempotency_key,
                a.fingerprint,
                summary,
                outcome.points,
                outcome.growth,
                Decimal(0),
                0,
                0,
                self.now,
            ]
        )

    def outcome(
        self,
        member: _Member,
        *,
        event_id: int,
        outbox_id: int,
        outcome: Outcome,
        summary: dict[str, Any],
        at: datetime,
        seasons: list[CalendarSeason],
        badge_ids: dict[str, int],
        ladder: ProgrammeLadder,
        pending_until: datetime | None = None,
    ) -> None:
        now = self.now
        self.members[member.id] = member
        held = 0
        if pending_until is not None:
            # The event's own points are held for the return window: no ledger row and no
            # balance until released (app/services/points/pending.py); earning-rule awards
            # and task rewards are credited now, each its own ledger row as ever. Lifetime
            # points, boards and growth count the held points now: they are earned.
            held = _own_points(outcome)
            reason = next(line.reason for line in outcome.ledger if _own(line))
            self.pending.append(
                [member.id, event_id, held, reason[:200], pending_until, "pending", now]
            )
        for n, line in enumerate(outcome.ledger, start=1):
            if held and _own(line):
                continue  # numbered all the same: keys stay those of an event without window
            member.points_balance += line.delta  # the balance read under the lock, moved on
            self.ledger.append(
                [
                    member.id,
                    line.delta,
                    LedgerKind.EARN.value,
                    line.reason[:200],
                    LedgerSource.EVENT.value,
                    f"{event_id}:{n}",
                    member.points_balance,
                    self.written_at,
                    line.rule_id,
                    line.rule_version,
                ]
            )
        # Pending points are earned (lifetime points, boards) but not yet spendable.
        member.lifetime_points += outcome.points
        member.lifetime_gained += outcome.points
        member.points += outcome.points - held
        member.growth += outcome.growth
        member.growth_gained += outcome.growth
        for state in outcome.progress:
            member.progress[(state.task_id, state.window_key)] = state
            self.progress[(member.id, state.task_id, state.window_key)] = state
        for c in outcome.completions:
            self.completions.append(
                [member.id, c.task.id, c.window_key, event_id, c.points, c.growth, now]
            )
        for key, value in outcome.facts.items():
            member.facts[key] = value
            self.facts[(member.id, key)] = value
        for award in outcome.badges:
            badge_id = badge_ids[award.badge.code]
            member.held[badge_id] = max(member.held.get(badge_id, 0), award.level)
            self.badges.append([member.id, badge_id, award.level, now])
        if outcome.promotion is not None:
            to_tier = ladder.by_rank(outcome.promotion.to_tier.rank)
            assert to_tier is not None  # the engine promotes within the ladder it was given
            self.promotions.append(_Promotion(member.id, member.tier_id, to_tier, ladder.id))
            member.tier_id = to_tier.id
            member.tier_changed = True
        for notice in outcome.notices:
            self.notices.append(
                [
                    member.id,
                    notice.kind.value,
                    notice.title,
                    notice.body,
                    dict(notice.data),
                    now,
                ]
            )
        scores = changes_for(
            seasons=seasons,
            at=at,
            zone=self.zone,
            points=outcome.points,
            growth=outcome.growth,
            tasks_completed=len(outcome.completions),
        )
        payload = {
            "member_id": member.id,
            "event_id": event_id,
            "balance": member.points_balance,  # after this event (the row is locked: exact)
            "scores": changed_keys(scores),
            **summary,
        }
        self.outbox.append([outbox_id, "event.recorded", payload, now])
        for change in scores:
            score = self.scores.setdefault((member.id, change.metric, change.period_key), [0, 0])
            score[0] += change.delta
            score[1] = outbox_id

    def unclaim(self, days: set[tuple[int, date | None]]) -> None:
        self.unclaimed = sorted(days, key=lambda d: (d[0], str(d[1])))

    def statements(self) -> list[Statement]:
        d, now = self.d, self.now
        reached = reached_second(now)
        out = [
            *d.insert("event", EVENT_COLUMNS, self.events),
            *d.insert("points_ledger", LEDGER_COLUMNS, self.ledger),
            *d.insert("pending_points", PENDING_COLUMNS, self.pending),
            *d.insert("task_completion", COMPLETION_COLUMNS, self.completions),
            *d.insert("member_badge", BADGE_COLUMNS, self.badges),
            *d.insert("notification", NOTIFICATION_COLUMNS, self.notices),
            *d.insert("outbox", OUTBOX_COLUMNS, self.outbox),
            *d.insert(
                "task_progress",
                PROGRESS_COLUMNS,
                [
                    [
                        member_id,
                        task_id,
                        window_key,
                        s.count,
                        s.total,
                        s.days,
                        s.streak,
                        s.last_day,
                        s.completions,
                        now,
                    ]
                    for (member_id, task_id, window_key), s in self.progress.items()
                ],
                "ON CONFLICT (member_id, task_id, window_key) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in PROGRESS_COLUMNS[3:]),
            ),
            *d.insert(
                "member_fact",
                ("member_id", "key", "value"),
                [[m, k, v] for (m, k), v in self.facts.items()],
                "ON CONFLICT (member_id, key) DO UPDATE SET value = excluded.value",
            ),
            *d.insert(
                "leaderboard_score",
                (
                    "metric",
                    "period_key",
                    "scope",
                    "member_id",
                    "score",
                    "reached_at",
                    "reached_seq",
                ),
                [
                    [
                        metric.value,
                        period_key,
                        scope_of(metric, period_key),
                        member_id,
                        delta,
                        reached,
                        seq,
                    ]
                    for (member_id, metric, period_key), (delta, seq) in self.scores.items()
                ],
                "ON CONFLICT (metric, period_key, member_id) DO UPDATE SET "
                "score = leaderboard_score.score + excluded.score, "
                "reached_at = excluded.reached_at, reached_seq = excluded.reached_seq",
            ),
            *d.insert(
                "earning_rule_spend",
                SPEND_COLUMNS,
                [
                    [rule_id, member_id, key, points, awards, now, now]
                    for (rule_id, member_id, key), (points, awards) in sorted(self.spend.items())
                ],
                SPEND_ADDED,
            ),
        ]
        moved = [
            [m.id, m.points, m.lifetime_gained, m.growth_gained, m.tier_id]
            for m in self.members.values()
            if m.points or m.lifetime_gained or m.growth_gained or m.tier_changed
        ]
        if moved:
            relation, params = d.relation(
                moved,
                (
                    ("id", "bigint"),
                    ("points", "bigint"),
                    ("lifetime", "bigint"),
                    ("growth", "bigint"),
                    ("tier_id", "int"),
                ),
            )
            # The ids again as a condition on member's own key: PostgreSQL cannot see how
            # many rows a JSON parameter holds (it assumes 100) and would rather scan every
            # member than look a hundred up; with the ids it reads just those rows.
            moved_ids, id_params = d.any_of("member.id", [row[0] for row in moved], "bigint")
            out.append(
                Statement(
                    "UPDATE member SET points_balance = member.points_balance + v.points, "
                    "lifetime_points = member.lifetime_points + v.lifetime, "
                    "growth = member.growth + v.growth, tier_id = v.tier_id "
                    f"FROM {relation} WHERE member.id = v.id AND {moved_ids}",
                    [*params, *id_params],
                )
            )
        if self.unclaimed:
            relation, params = d.relation(
                self.unclaimed, (("member_id", "bigint"), ("day", "date"))
            )
            out.append(
                Statement(
                    "DELETE FROM member_active_day WHERE (member_id, day) IN "
                    f"(SELECT member_id, day FROM {relation})",
                    params,
                )
            )
        return out


EVENT_COLUMNS = (
    "id",
    "member_id",
    "type",
    "occurred_at",
    "amount",
    "attributes",
    "idempotency_key",
    "payload_hash",
    "outcome",
    "points",
    "growth",
    "reversed_amount",
    "reversed_points",
    "reversed_growth",
    "recorded_at",
)
LEDGER_COLUMNS = (
    "member_id",
    "delta",
    "kind",
    "reason",
    "source",
    "idempotency_key",
    "balance_after",
    "created_at",
    "rule_id",
    "rule_version",
)
PENDING_COLUMNS = (
    "member_id",
    "event_id",
    "points",
    "reason",
    "release_at",
    "status",
    "created_at",
)
SPEND_COLUMNS = ("rule_id", "member_id", "period_key", "points", "awards", "first_at", "updated_at")
SPEND_ADDED = (
    "ON CONFLICT (rule_id, member_id, period_key) DO UPDATE SET "
    "points = earning_rule_spend.points + excluded.points, "
    "awards = earning_rule_spend.awards + excluded.awards, updated_at = excluded.updated_at"
)
COMPLETION_COLUMNS = (
    "member_id",
    "task_id",
    "window_key",
    "event_id",
    "points",
    "growth",
    "completed_at",
)
BADGE_COLUMNS = ("member_id", "badge_id", "level", "earned_at")
NOTIFICATION_COLUMNS = ("member_id", "kind", "title", "body", "data", "created_at")
OUTBOX_COLUMNS = ("id", "topic", "payload", "created_at")
PROGRESS_COLUMNS = (
    "member_id",
    "task_id",
    "window_key",
    "count",
    "total",
    "days",
    "streak",
    "last_day",
    "completions",
    "updated_at",
)


def _summary(outcome: Outcome, *, explain: bool) -> dict[str, Any]:
    """The outcome as stored on the event and returned to callers (JSON-safe); ``explain``:
    with what each earning rule of the event type did."""
    promotion = outcome.promotion
    summary: dict[str, Any] = {
        "points": outcome.points,
        "growth": outcome.growth,
        "tasksCompleted": [_completed(c) for c in outcome.completions],
        "badgesEarned": [
            {"code": a.badge.code, "name": a.badge.name, "level": a.level} for a in outcome.badges
        ],
        "tierChange": (
            {"from": promotion.from_tier.code, "to": promotion.to_tier.code} if promotion else None
        ),
    }
    if outcome.multiplier != 1:
        # Why the points differ from what the catalogue says the event is worth.
        summary["basePoints"] = _decimal_text(outcome.base_points)
        summary["multiplier"] = _decimal_text(outcome.multiplier)
    if explain:
        summary |= explain_earning(outcome.earning)
    return summary


def _completed(c: Completion) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": c.task.code,
        "name": c.task.name,
        "points": c.points,
        "growth": c.growth,
    }
    if c.multiplier != 1:  # a 150-point task paying 165 says it was x1.1
        entry["basePoints"] = c.task.reward_points
        entry["multiplier"] = _decimal_text(c.multiplier)
    return entry


def _decimal_text(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros (1.25, 2, 150), never 1.5E+2."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
