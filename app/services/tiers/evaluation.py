"""The scheduled tier evaluation: retention warnings ahead of it, then demotions.

Everything is set-based and batched by member id: each batch is one transaction of a few
statements (``INSERT … SELECT`` and ``UPDATE … FROM``) that touch only the members who
change, however many members the batch spans; never a query per member. The rules come
from :mod:`gamification.tiers.evaluation` as a small table (the *plan*: for every tier row, the
growth that keeps it and the tier one below), sent as a ``VALUES`` list.

Crash safety: a member's warning and demotion are rows of ``tier_evaluation_member``,
unique per (evaluation date, step, member), written in the batch's transaction together
with everything they cause (the member's new tier, the tier change, the notification, the
outbox rows, the ended benefits). A batch commits whole or not at all; a re-run (after
SIGTERM, a crash, or by a second worker at the same time) skips what a committed batch
did, and the unique key stops a second demotion for the date even if two runs race for a
batch. The evaluation's cursor only spares a re-run the batches already done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from app.models import (
    EvaluationStep,
    Member,
    Tier,
    TierChangeReason,
    TierEvaluation,
    TierEvaluationMember,
)
from app.services.benefits.grants import announce_revocations
from app.services.leaderboards.index import MEMBER_CHANGED
from app.services.notifications.outbox import outbox_written
from app.services.tiers.ladder import ladder_in_force
from gamification.benefits import GrantSource, GrantStatus
from gamification.tiers.evaluation import (
    demotion_notice,
    demotion_rules,
    evaluation_calendar,
    retention_warning,
)
from gamification.tiers.ladder import evaluation_starts_at

Heartbeat = Callable[[], Awaitable[None]]
BATCH_SIZE = 20_000
WARNING_KIND = "tier_warning"
WARNED_TOPIC = "tier.warned"
DEMOTION_KIND = "tier_down"


@dataclass(frozen=True, slots=True)
class EvaluationPolicy:
    """The programme's evaluation settings (``LAUREL_EVALUATION_*``)."""

    zone: ZoneInfo
    day_of_month: int = 1
    warning_days: int = 7
    grace_days: int = 0
    demoted_benefits_keep_days: int = 0


@dataclass(frozen=True, slots=True)
class _PlanRow:
    """For members holding ``tier_id``: the growth that keeps it, the tier one below, and
    what they read."""

    tier_id: int
    keep_at: int
    to_tier_id: int
    title: str
    before: str
    after: str
    data: dict[str, Any]


class _Sql:
    """Raw statements for both backends: ``?`` placeholders become ``$n`` on PostgreSQL."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn
        self.postgres = conn.capabilities.dialect == "postgres"

    def json(self, expression: str) -> str:
        return f"CAST({expression} AS JSONB)" if self.postgres else expression

    def json_object(self, *pairs: str) -> str:
        return ("jsonb_build_object(" if self.postgres else "json_object(") + ", ".join(pairs) + ")"

    def _numbered(self, sql: str) -> str:
        if self.postgres:
            parts = sql.split("?")
            sql = "".join(p + (f"${n}" if n < len(parts) else "") for n, p in enumerate(parts, 1))
        return sql

    async def run(self, sql: str, params: Sequence[Any]) -> None:
        await self.conn.execute_query(self._numbered(sql), list(params))

    async def rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        """The rows a statement returns (``RETURNING``; tortoise's execute_query drops
        them on asyncpg)."""
        return await self.conn.execute_query_dict(self._numbered(sql), list(params))


def _plan_cte(rows: Sequence[_PlanRow]) -> tuple[str, list[Any]]:
    values = ", ".join(
        "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), "
        "CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))"
        for _ in rows
    )
    params: list[Any] = []
    for r in rows:
        params += [
            r.tier_id,
            r.keep_at,
            r.to_tier_id,
            r.title,
            r.before,
            r.after,
            json.dumps(r.data, separators=(",", ":")),
        ]
    columns = "tier_id, keep_at, to_tier_id, title, before, after, data"
    return f"WITH plan ({columns}) AS (VALUES {values}) ", params


async def _plan(
    *, version_id: int, step: EvaluationStep, evaluated: date, deadline: date
) -> list[_PlanRow]:
    """The plan for every tier row members may hold (older ladder versions included: a
    member on an older version's tier is judged by the tier of the same rank in force)."""
    in_force = await Tier.filter(ladder_version_id=version_id).order_by("rank")
    rules = [t.to_rule() for t in in_force]
    by_rank = {t.rank: t for t in in_force}
    demotions = {d.from_rank: d for d in demotion_rules(rules)}
    rows = []
    for held in await Tier.filter(rank__gt=0):
        rank = min(held.rank, len(in_force) - 1)
        if rank not in demotions:
            continue
        rule = demotions[rank]
        current, lower = by_rank[rank], by_rank[rule.to_rank]
        data: dict[str, Any] = {
            "from": current.code,
            "to": lower.code,
            "evaluation": evaluated.isoformat(),
        }
        if step is EvaluationStep.WARNED:
            words = retention_warning(
                current=current.to_rule(), lower=lower.to_rule(), deadline=deadline
            )
            title, before, after = words.title, words.before, words.after
            data |= {"retention": rule.keep_at, "deadline": deadline.isoformat()}
        else:
            notice = demotion_notice(
                current=current.to_rule(), lower=lower.to_rule(), evaluated=evaluated
            )
            title, before, after = notice.title, notice.body, ""
        rows.append(_PlanRow(held.id, rule.keep_at, lower.id, title, before, after, data))
    return rows


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


async def _mark(
    sql: _Sql,
    plan: tuple[str, list[Any]],
    *,
    evaluation: str,
    step: EvaluationStep,
    lo: int,
    hi: int,
    batch: str,
    now: datetime,
) -> None:
    """Record, for active members of ids [lo, hi) below retention, this step of this
    evaluation; members who already have it for the date are skipped (the unique key). A
    deactivated member is neither warned nor demoted while it is inactive."""
    cte, params = plan
    await sql.run(
        cte + "INSERT INTO tier_evaluation_member "
        "(evaluation, step, member_id, from_tier_id, to_tier_id, growth, retention_threshold, "
        "batch, at) "
        "SELECT ?, ?, m.id, m.tier_id, plan.to_tier_id, m.growth, plan.keep_at, ?, ? "
        "FROM member m JOIN plan ON plan.tier_id = m.tier_id "
        "WHERE m.id >= ? AND m.id < ? AND m.growth < plan.keep_at "
        "AND m.deactivated_at IS NULL "
        "ON CONFLICT (evaluation, step, member_id) DO NOTHING",
        [*params, evaluation, step.value, batch, _utc(now), lo, hi],
    )


# The rows one batch marked: (evaluation, step, lo, hi, batch) go into the placeholders.
_MARKED = "r.evaluation = ? AND r.step = ? AND r.member_id >= ? AND r.member_id < ? AND r.batch = ?"


async def send_warnings(
    *,
    evaluated: date,
    deadline: date,
    policy: EvaluationPolicy,
    now: datetime,
    heartbeat: Heartbeat | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Warn every member below retention that the evaluation of ``evaluated`` will drop
    them a tier unless they reach it before ``deadline``: once per member and date.
    Returns how many members this run warned."""
    version = await ladder_in_force(now=evaluation_starts_at(evaluated, zone=policy.zone))
    if version is None:
        return 0
    rows = await _plan(
        version_id=version.id, step=EvaluationStep.WARNED, evaluated=evaluated, deadline=deadline
    )
    if not rows:
        return 0
    plan = _plan_cte(rows)
    evaluation, step = evaluated.isoformat(), EvaluationStep.WARNED
    run = uuid.uuid4().hex[:16]
    top = await _last_member_id()
    lo = 0
    while lo <= top:
        hi, batch = lo + batch_size, f"{run}{lo:016x}"
        async with in_transaction() as conn:
            sql = _Sql(conn)
            await _mark(
                sql, plan, evaluation=evaluation, step=step, lo=lo, hi=hi, batch=batch, now=now
            )
            missing = "CAST(r.retention_threshold - r.growth AS TEXT)"
            data = (
                "CAST(plan.data AS JSONB) || jsonb_build_object"
                "('missing', r.retention_threshold - r.growth)"
                if sql.postgres
                else "json_set(plan.data, '$.missing', r.retention_threshold - r.growth)"
            )
            cte, params = plan
            await sql.run(
                cte + "INSERT INTO notification (member_id, kind, title, body, data, created_at) "
                f"SELECT r.member_id, ?, plan.title, plan.before || {missing} || plan.after, "
                f"{data}, ? "
                "FROM tier_evaluation_member r JOIN plan ON plan.tier_id = r.from_tier_id "
                f"WHERE {_MARKED}",
                [*params, WARNING_KIND, _utc(now), evaluation, step.value, lo, hi, batch],
            )
            # The webhook tier.warned, one row per member warned: what the notification
            # says, as data.
            told = (
                "CAST(plan.data AS JSONB) || jsonb_build_object('member_id', r.member_id, "
                "'missing', r.retention_threshold - r.growth)"
                if sql.postgres
                else "json_set(plan.data, '$.member_id', r.member_id, "
                "'$.missing', r.retention_threshold - r.growth)"
            )
            await sql.run(
                cte + "INSERT INTO outbox (topic, payload, created_at) "
                f"SELECT ?, {told}, ? "
                "FROM tier_evaluation_member r JOIN plan ON plan.tier_id = r.from_tier_id "
                f"WHERE {_MARKED}",
                [*params, WARNED_TOPIC, _utc(now), evaluation, step.value, lo, hi, batch],
            )
        outbox_written()
        if heartbeat is not None:
            await heartbeat()
        lo = hi
    return await _done_by(run, evaluation=evaluation, step=step)


async def _done_by(run: str, *, evaluation: str, step: EvaluationStep) -> int:
    """How many members the batches of one run marked (their batch ids start with it)."""
    return await TierEvaluationMember.filter(
        evaluation=evaluation, step=step, batch__startswith=run
    ).count()


async def _last_member_id() -> int:
    # Tortoise types flat values_list results as tuples.
    query = Member.annotate(top=Max("id")).values_list("top", flat=True)
    rows: list[int | None] = await query  # type: ignore[assignment]
    return int(rows[0] or 0) if rows else 0


async def _open_evaluation(
    *, evaluated: date, zone: ZoneInfo, now: datetime
) -> TierEvaluation | None:
    """The evaluation of the date (started now unless a run started it before); None when
    no ladder was in force at its date."""
    evaluation = evaluated.isoformat()
    found = await TierEvaluation.get_or_none(evaluation=evaluation)
    if found is not None:
        return found
    version = await ladder_in_force(now=evaluation_starts_at(evaluated, zone=zone))
    if version is None:
        return None
    try:
        return await TierEvaluation.create(
            evaluation=evaluation, ladder_version_id=version.id, started_at=now
        )
    except IntegrityError:  # another run started it a moment ago
        return await TierEvaluation.get(evaluation=evaluation)


async def apply_evaluation(
    *,
    evaluated: date,
    policy: EvaluationPolicy,
    now: datetime,
    heartbeat: Heartbeat | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Demote every member below retention by one tier for the evaluation of
    ``evaluated``, once: a finished evaluation does nothing, an interrupted one resumes.
    Returns how many members this run demoted."""
    opened = await _open_evaluation(evaluated=evaluated, zone=policy.zone, now=now)
    if opened is None or opened.finished_at is not None:
        return 0
    evaluation, step = opened.evaluation, EvaluationStep.DEMOTED
    rows = await _plan(
        version_id=opened.ladder_version_id, step=step, evaluated=evaluated, deadline=evaluated
    )
    plan = _plan_cte(rows) if rows else None
    run = uuid.uuid4().hex[:16]
    top = await _last_member_id()
    lo = opened.next_member_id
    while plan is not None and lo <= top:
        hi, batch = lo + batch_size, f"{run}{lo:016x}"
        async with in_transaction() as conn:
            # Claim the batch: a second run waits here for the first's commit, then finds
            # the cursor moved on and follows it.
            claimed = (
                await TierEvaluation.filter(id=opened.id, next_member_id=lo)
                .using_db(conn)
                .update(next_member_id=hi)
            )
            if claimed:
                await _demote_batch(
                    _Sql(conn),
                    plan,
                    evaluation=evaluation,
                    lo=lo,
                    hi=hi,
                    batch=batch,
                    version_id=opened.ladder_version_id,
                    policy=policy,
                    now=now,
                )
        if claimed:
            outbox_written()
            lo = hi
        else:
            lo = (await TierEvaluation.get(id=opened.id)).next_member_id
        if heartbeat is not None:
            await heartbeat()
    total = await TierEvaluationMember.filter(evaluation=evaluation, step=step).count()
    await TierEvaluation.filter(id=opened.id, finished_at__isnull=True).update(
        finished_at=now, demoted=total
    )
    return await _done_by(run, evaluation=evaluation, step=step)


async def _demote_batch(
    sql: _Sql,
    plan: tuple[str, list[Any]],
    *,
    evaluation: str,
    lo: int,
    hi: int,
    batch: str,
    version_id: int,
    policy: EvaluationPolicy,
    now: datetime,
) -> None:
    step = EvaluationStep.DEMOTED.value
    marked = [evaluation, step, lo, hi, batch]
    at = _utc(now)
    await _mark(
        sql,
        plan,
        evaluation=evaluation,
        step=EvaluationStep.DEMOTED,
        lo=lo,
        hi=hi,
        batch=batch,
        now=now,
    )
    # Guarded by the tier and growth the mark saw: an event committed in between (a
    # promotion, a reversal) wins, and the mark of a member left alone is dropped below.
    await sql.run(
        "UPDATE member SET tier_id = r.to_tier_id, updated_at = ? "
        f"FROM tier_evaluation_member r WHERE {_MARKED} AND member.id = r.member_id "
        "AND member.tier_id = r.from_tier_id AND member.growth < r.retention_threshold",
        [at, *marked],
    )
    await sql.run(
        f"DELETE FROM tier_evaluation_member WHERE id IN (SELECT r.id FROM "
        f"tier_evaluation_member r JOIN member m ON m.id = r.member_id WHERE {_MARKED} "
        "AND m.tier_id <> r.to_tier_id)",
        marked,
    )
    await sql.run(
        "INSERT INTO tier_change (member_id, from_tier_id, to_tier_id, reason, "
        "ladder_version_id, changed_at) "
        f"SELECT r.member_id, r.from_tier_id, r.to_tier_id, ?, ?, ? "
        f"FROM tier_evaluation_member r WHERE {_MARKED}",
        [TierChangeReason.DEMOTION.value, version_id, at, *marked],
    )
    cte, params = plan
    await sql.run(
        cte + "INSERT INTO notification (member_id, kind, title, body, data, created_at) "
        f"SELECT r.member_id, ?, plan.title, plan.before, {sql.json('plan.data')}, ? "
        "FROM tier_evaluation_member r JOIN plan ON plan.tier_id = r.from_tier_id "
        f"WHERE {_MARKED}",
        [*params, DEMOTION_KIND, at, *marked],
    )
    # One row per member: pushes (TierChanged) and the leaderboard index (which shows
    # tiers) re-read the member from it.
    payload = sql.json_object(
        "'member_id'",
        "r.member_id",
        "'tierChange'",
        sql.json_object("'from'", "f.code", "'to'", "t.code"),
        "'reason'",
        "'demotion'",
        "'evaluation'",
        "r.evaluation",
    )
    await sql.run(
        "INSERT INTO outbox (topic, payload, created_at) "
        f"SELECT ?, {payload}, ? FROM tier_evaluation_member r "
        "JOIN tier f ON f.id = r.from_tier_id JOIN tier t ON t.id = r.to_tier_id "
        f"WHERE {_MARKED}",
        [MEMBER_CHANGED, at, *marked],
    )
    # The benefits of the tier left end now, or after the days the programme keeps them.
    keep = policy.demoted_benefits_keep_days
    ends = at + timedelta(days=keep)
    status = GrantStatus.ACTIVE if keep else GrantStatus.EXPIRED
    revoked = await sql.rows(
        "UPDATE benefit_grant SET status = ?, valid_to = ? "
        "FROM tier_evaluation_member r JOIN tier f ON f.id = r.from_tier_id "
        f"WHERE {_MARKED} AND benefit_grant.member_id = r.member_id "
        "AND benefit_grant.source = ? AND (benefit_grant.source_ref = f.code "
        "  OR substr(benefit_grant.source_ref, 1, length(f.code) + 1) = f.code || '@') "
        "AND benefit_grant.status = ? "
        "AND (benefit_grant.valid_to IS NULL OR benefit_grant.valid_to > ?) "
        "RETURNING benefit_grant.id, benefit_grant.member_id, benefit_grant.benefit_id, "
        "benefit_grant.source",
        [status.value, ends, *marked, GrantSource.TIER.value, GrantStatus.ACTIVE.value, ends],
    )
    await announce_revocations(sql.conn, revoked=revoked, reason="demotion", valid_to=ends, now=now)


async def evaluate_tiers(
    *,
    policy: EvaluationPolicy,
    now: datetime,
    heartbeat: Heartbeat | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:
    """The daily job: apply the evaluation that is due (once per date), then warn the
    members at risk of the coming one. Returns what it did."""
    plan = evaluation_calendar(
        now=now,
        zone=policy.zone,
        day_of_month=policy.day_of_month,
        warning_days=policy.warning_days,
        grace_days=policy.grace_days,
    )
    demoted = warned = 0
    if plan.demote_for is not None:
        demoted = await apply_evaluation(
            evaluated=plan.demote_for,
            policy=policy,
            now=now,
            heartbeat=heartbeat,
            batch_size=batch_size,
        )
    if plan.warn_for is not None and plan.deadline is not None:
        warned = await send_warnings(
            evaluated=plan.warn_for,
            deadline=plan.deadline,
            policy=policy,
            now=now,
            heartbeat=heartbeat,
            batch_size=batch_size,
        )
    return {
        "evaluation": plan.demote_for.isoformat() if plan.demote_for else None,
        "demoted": demoted,
        "warned_for": plan.warn_for.isoformat() if plan.warn_for else None,
        "warned": warned,
    }
