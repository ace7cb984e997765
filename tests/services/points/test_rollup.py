"""The points flow rollup: points flow reads it and still gives the ledger's exact sums, in
every state of the fold (never folded, partly folded, a period across the boundary, rows
written since), on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.db import connection
from app.models import JobRun, JobRunStatus, PointsLedgerEntry
from app.services.analytics.reports import PointsRow, points_flow
from app.services.jobs.schedule import JOBS, run_job
from app.services.points.rollup import (
    REFOLD,
    SETTLE,
    fold_points_flow,
    folded_until,
    slot_start,
)
from gamification.analytics import Granularity, buckets
from gamification.points.ledger import LedgerKind, LedgerSource
from tests import factories

pytestmark = pytest.mark.usefixtures("orm")
Z = factories.ZONE
# Four local days from a local midnight, and the reports over them.
BASE = datetime(2026, 3, 1, tzinfo=Z)
SPAN = timedelta(days=4)
REPORTS = (Granularity.DAY, Granularity.WEEK, Granularity.MONTH)
_keys = itertools.count(1)


async def write(member_id: int, rows: list[tuple[datetime, int, LedgerKind]]) -> None:
    """Ledger rows stamped at the given moments (as the ledger would have stamped them)."""
    await PointsLedgerEntry.bulk_create(
        [
            PointsLedgerEntry(
                member_id=member_id,
                delta=delta,
                kind=kind,
                reason="test",
                source=LedgerSource.MANUAL,
                idempotency_key=f"rollup-{next(_keys)}",
                balance_after=0,
                created_at=at,
            )
            for at, delta, kind in rows
        ]
    )


async def from_ledger(
    granularity: Granularity, starts_at: datetime, ends_at: datetime, zone: ZoneInfo = Z
) -> list[PointsRow]:
    """The definition, computed in Python over every ledger row."""
    rows = await PointsLedgerEntry.all().values_list("created_at", "delta", "kind")
    found = []
    for b in buckets(granularity, starts_at=starts_at, ends_at=ends_at, zone=zone):
        inside = [(d, k) for at, d, k in rows if b.starts_at <= at < b.ends_at]
        found.append(
            PointsRow(
                period=b.key,
                # A merge's transfer moves points between members: it issues none.
                issued=sum(d for d, k in inside if d > 0 and k != LedgerKind.TRANSFER),
                spent=-sum(d for d, k in inside if k == LedgerKind.SPEND),
                expired=-sum(d for d, k in inside if k == LedgerKind.EXPIRE),
            )
        )
    return found


async def assert_exact(
    starts_at: datetime = BASE, ends_at: datetime = BASE + SPAN, zone: ZoneInfo = Z
) -> None:
    for granularity in REPORTS:
        got = await points_flow(
            granularity=granularity, starts_at=starts_at, ends_at=ends_at, zone=zone
        )
        assert got == await from_ledger(granularity, starts_at, ends_at, zone), granularity


async def rollup_rows() -> list[tuple[int, str, int, int, int]]:
    rows = await connection().execute_query_dict(
        "SELECT slot, kind, credited, net, entries FROM points_flow_rollup ORDER BY slot, kind"
    )
    return [(r["slot"], r["kind"], r["credited"], r["net"], r["entries"]) for r in rows]


async def forget_rollup() -> None:
    conn = connection()
    await conn.execute_query("DELETE FROM points_flow_rollup")
    await conn.execute_query("DELETE FROM points_flow_fold")


# A moment in the four days, often on or next to a quarter hour (where slots and local
# days meet), sometimes a microsecond short of the next second (SQLite's strftime rounds).
MOMENTS = st.builds(
    lambda quarter, shift, micro: (
        BASE + timedelta(seconds=quarter * 900 + shift, microseconds=micro)
    ),
    st.integers(0, 4 * 96 - 1),
    st.sampled_from([0, 0, 1, 449, 899]),
    st.sampled_from([0, 0, 999_700, 123_456]),
)
ROWS = st.lists(
    st.tuples(
        MOMENTS,
        st.integers(-500, 500).filter(bool),
        st.sampled_from(list(LedgerKind)),
    ),
    max_size=25,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=ROWS,
    after=ROWS,
    fold_at=st.integers(0, 5 * 96).map(lambda q: BASE + timedelta(minutes=15 * q + 7)),
    refold_in=st.integers(0, 2 * 96).map(lambda q: timedelta(minutes=15 * q)),
)
async def test_points_flow_is_the_ledgers_in_every_state_of_the_fold(
    before, after, fold_at, refold_in
):
    member = await factories.member()
    await forget_rollup()
    await write(member.id, before)
    await assert_exact()  # never folded: all from the ledger

    await fold_points_flow(now=fold_at)
    boundary = await folded_until()
    assert boundary is not None and slot_start(boundary) <= fold_at - SETTLE
    await assert_exact()  # partly folded, a period across the boundary

    # Rows written since the fold are stamped at or after the boundary.
    await write(member.id, [(max(at, slot_start(boundary)), d, k) for at, d, k in after])
    await assert_exact()

    await fold_points_flow(now=fold_at + refold_in)
    await assert_exact()


async def test_folding_again_changes_nothing():
    member = await factories.member()
    await write(
        member.id,
        [
            (BASE + timedelta(minutes=7 * n), n - 20, LedgerKind.SPEND)
            for n in range(1, 40)
            if n != 20
        ],
    )
    at = BASE + timedelta(days=2)
    first = await fold_points_flow(now=at)
    rows = await rollup_rows()
    assert rows and first["slots"] > 0

    assert (await fold_points_flow(now=at))["slots"] == 0  # nothing settled since
    assert await rollup_rows() == rows
    # A quarter of an hour later, the last 24 h are folded again: the same rows.
    later = await fold_points_flow(now=at + timedelta(minutes=15))
    assert later["slots"] == 1
    assert await rollup_rows() == rows
    # And the same as folding everything from scratch.
    await forget_rollup()
    await fold_points_flow(now=at + timedelta(minutes=15))
    assert await rollup_rows() == rows


async def test_a_row_committed_late_inside_the_refold_window_is_counted():
    member = await factories.member()
    await write(member.id, [(BASE + timedelta(hours=1), 100, LedgerKind.EARN)])
    at = BASE + timedelta(days=2)
    await fold_points_flow(now=at)
    # A transaction that stamped its row 3 h before the fold committed only after it (a
    # slow job): the row's quarter hour is already folded.
    late = at - timedelta(hours=3)
    assert late < slot_start(await folded_until() or 0)
    await write(member.id, [(late, -40, LedgerKind.EXPIRE)])

    await fold_points_flow(now=at + timedelta(minutes=15))

    await assert_exact()
    days = await points_flow(
        granularity=Granularity.DAY, starts_at=BASE, ends_at=BASE + SPAN, zone=Z
    )
    assert sum(d.expired for d in days) == 40


async def test_a_row_older_than_the_refold_window_needs_a_rebuild():
    """The invariant the fold relies on, and what to do when an import breaks it."""
    member = await factories.member()
    at = BASE + timedelta(days=3)
    await fold_points_flow(now=at)
    await write(member.id, [(at - SETTLE - REFOLD - timedelta(hours=1), 70, LedgerKind.EARN)])
    await fold_points_flow(now=at + timedelta(minutes=15))
    days = await points_flow(
        granularity=Granularity.DAY, starts_at=BASE, ends_at=BASE + SPAN, zone=Z
    )
    assert sum(d.issued for d in days) == 0

    await connection().execute_query("DELETE FROM points_flow_fold")
    await fold_points_flow(now=at + timedelta(minutes=15))
    await assert_exact()
    days = await points_flow(
        granularity=Granularity.DAY, starts_at=BASE, ends_at=BASE + SPAN, zone=Z
    )
    assert sum(d.issued for d in days) == 70


async def test_periods_off_the_quarter_hours_are_read_from_the_ledger():
    # Monrovia kept -0:44:30 until 1972: its local days start 44 min 30 s past a UTC hour.
    monrovia = ZoneInfo("Africa/Monrovia")
    start = datetime(1971, 3, 1, tzinfo=monrovia)
    member = await factories.member()
    await write(
        member.id,
        [
            (start + timedelta(minutes=5), 10, LedgerKind.EARN),  # 00:49:30 UTC, slot 00:45
            (start - timedelta(minutes=5), 20, LedgerKind.EARN),  # the day before, same slot
            (start + timedelta(days=1, seconds=-1), -3, LedgerKind.SPEND),
        ],
    )
    await fold_points_flow(now=datetime(1971, 4, 1, tzinfo=UTC))
    assert await rollup_rows()
    await assert_exact(start - timedelta(days=1), start + timedelta(days=2), monrovia)
    days = await points_flow(
        granularity=Granularity.DAY,
        starts_at=start,
        ends_at=start + timedelta(days=1),
        zone=monrovia,
    )
    assert [(d.issued, d.spent) for d in days] == [(10, 3)]


async def test_the_first_fold_backfills_history_in_chunks():
    member = await factories.member()
    await write(
        member.id, [(BASE - timedelta(days=100 - n), 5, LedgerKind.EARN) for n in range(0, 100, 9)]
    )
    beats = []

    async def heartbeat() -> None:
        beats.append(1)

    result = await fold_points_flow(now=BASE, heartbeat=heartbeat)
    assert result["entries"] == 12
    assert len(beats) == 4  # 100 days, 30 days per transaction
    await assert_exact(BASE - timedelta(days=101), BASE)


async def test_the_scheduled_job_folds(settings: Settings):
    member = await factories.member()
    await write(member.id, [(BASE + timedelta(hours=2), 30, LedgerKind.EARN)])
    job = JOBS["points_rollup"]
    at = BASE + timedelta(days=1)

    result = await run_job(job, settings=settings, clock=lambda: at)

    assert result is not None and result["entries"] == 1
    assert result["folded_until"] == await folded_until()
    assert await run_job(job, settings=settings, clock=lambda: at) is None  # its minute: done
    run = await JobRun.get(name="points_rollup")
    assert run.status is JobRunStatus.DONE
    await assert_exact()
