"""Bulk import from CSV files (app/services/activity/imports.py): the same end state as events sent
one by one, resumable, rejected rows reported by line, headers checked, on both backends."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.models import (
    Event,
    Member,
    MemberActiveDay,
    MemberBadge,
    MemberFact,
    PointsLedgerEntry,
    TaskCompletion,
    TaskProgressRow,
    Tier,
    TierChange,
    TierChangeReason,
)
from app.services.activity.events import EventInput, EventPolicy, record_events
from app.services.activity.imports import ImportRefused, import_events, import_members
from app.services.points.ledger import balance_mismatches
from gamification.badges import BadgeMetric
from gamification.shared.calendar import Window
from gamification.tasks import Condition
from tests import factories
from tests.factories import POLICY, ZONE

# A Monday morning in Shanghai; tests pin their clock to it, so every date is relative.
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)
EVENT_HEADER = [
    "idempotency_key",
    "external_member_id",
    "type",
    "occurred_at",
    "amount",
    "attributes",
]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_report(path: Path) -> dict[int, tuple[str, str, list[str]]]:
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as file:
        rows = list(csv.reader(file))
    assert rows[0][:3] == ["line", "error", "reason"]
    return {int(r[0]): (r[1], r[2], r[3:]) for r in rows[1:]}


async def programme() -> None:
    """A ladder and tasks whose outcome depends on the order of a member's events: a daily
    check-in, a 3-day streak, a weekly spend, a badge for tasks done, and promotion (with
    its multiplier) by growth."""
    await factories.ladder()
    await factories.task(code="daily", window=Window.DAY, reward_points=10)
    await factories.task(
        code="streak", condition=Condition.STREAK, target=3, reward_points=50, reward_growth=30
    )
    await factories.task(
        code="spender",
        event_type="purchase",
        condition=Condition.SUM,
        target=300,
        window=Window.WEEK,
        reward_points=100,
    )
    await factories.badge(code="doer", metric=BadgeMetric.TASKS_COMPLETED, thresholds=[1, 5, 12])


def activity(rng: random.Random, count: int, *, start: datetime, days: int) -> list[tuple]:
    """(type, occurred_at, amount) of ``count`` events over ``days``, not in time order."""
    out = []
    for _ in range(count):
        type_ = rng.choice(["check_in", "check_in", "purchase", "share"])
        at = start + timedelta(minutes=rng.randrange(60, days * 24 * 60))
        amount = Decimal(rng.randrange(500, 40_000)) / 100 if type_ == "purchase" else Decimal(0)
        out.append((type_, at, amount))
    return out


async def state_of(member: Member) -> dict[str, object]:
    """Everything an event leaves on a member, without ids and keys (which differ)."""
    m = await Member.get(id=member.id)
    tier = await Tier.get(id=m.tier_id)
    ledger = await PointsLedgerEntry.filter(member_id=m.id).order_by("id")
    progress = await TaskProgressRow.filter(member_id=m.id)
    completions = await TaskCompletion.filter(member_id=m.id)
    return {
        "member": (tier.code, m.points_balance, m.growth, m.lifetime_points),
        "ledger": [(e.delta, e.kind, e.reason, e.balance_after) for e in ledger],
        "progress": sorted(
            (p.task_id, p.window_key, p.count, p.total, p.days, p.streak, p.last_day, p.completions)
            for p in progress
        ),
        "completions": sorted((c.task_id, c.window_key, c.points, c.growth) for c in completions),
        "badges": sorted(await MemberBadge.filter(member_id=m.id).values_list("badge_id", "level")),
        "facts": dict(await MemberFact.filter(member_id=m.id).values_list("key", "value")),
        "days": sorted(await MemberActiveDay.filter(member_id=m.id).values_list("day", flat=True)),
        "tiers": [
            (c.from_tier_id, c.to_tier_id, c.reason)
            for c in await TierChange.filter(member_id=m.id).order_by("id")
        ],
    }


@pytest.mark.usefixtures("orm")
async def test_an_import_ends_where_the_same_events_sent_one_by_one_end(clock, tmp_path, backend):
    # Given a programme and pairs of twin members, one to import for, one to send for
    clock.set(START)
    await programme()
    pairs = [
        (
            await factories.member(external_id=f"imp-{n}"),
            await factories.member(external_id=f"one-{n}"),
        )
        for n in range(5)
    ]
    clock.advance(timedelta(days=20))
    rng = random.Random(14)
    plan = [(n, *a) for n in range(5) for a in activity(rng, 60, start=START, days=19)]
    rng.shuffle(plan)  # members interleaved, each member's events out of time order
    path = write_csv(
        tmp_path / "events.csv",
        EVENT_HEADER,
        [
            [f"imp-key-{i}", f"imp-{n}", type_, at.isoformat(), amount, ""]
            for i, (n, type_, at, amount) in enumerate(plan)
        ],
    )

    # When one twin's events are imported (in chunks, two at once on PostgreSQL) and the
    # other's are sent one by one through record_events
    report = await import_events(
        path,
        policy=POLICY,
        clock=clock,
        chunk_size=37,
        in_flight=2 if backend == "postgres" else 1,
    )
    for i, (n, type_, at, amount) in enumerate(plan):
        (result,) = await record_events(
            [
                EventInput(
                    type=type_,
                    occurred_at=at,
                    idempotency_key=f"one-key-{i}",
                    external_member_id=f"one-{n}",
                    amount=amount,
                )
            ],
            policy=POLICY,
            now=clock(),
        )
        assert not isinstance(result, Exception), result

    # Then every twin ends in the same state: balances, ledger, tasks, badges, tier
    assert (report.read, report.recorded, report.duplicates, report.rejected) == (300, 300, 0, 0)
    for imported, sent in pairs:
        assert await state_of(imported) == await state_of(sent)
    promoted = {(await state_of(m))["member"][0] for m, _ in pairs}  # type: ignore[index]
    assert promoted != {"member"}, "the plan should promote someone (multipliers change)"
    assert await balance_mismatches() == []


@pytest.mark.usefixtures("orm")
async def test_running_the_same_file_again_credits_nothing_twice(clock, tmp_path):
    # Given a file imported once
    clock.set(START)
    await programme()
    members = [await factories.member(external_id=f"m-{n}") for n in range(3)]
    clock.advance(timedelta(days=5))
    rows = [
        [f"key-{i}", f"m-{i % 3}", type_, at.isoformat(), amount, '{"shop": "north"}']
        for i, (type_, at, amount) in enumerate(activity(random.Random(3), 40, start=START, days=4))
    ]
    rows.append(["bad", "nobody", "check_in", START.isoformat(), "", ""])
    path = write_csv(tmp_path / "events.csv", EVENT_HEADER, rows)
    first = await import_events(path, policy=POLICY, clock=clock)
    before = [await state_of(m) for m in members]
    events = await Event.all().count()

    # When the same file is imported again (say, after a crash half way)
    clock.advance(timedelta(hours=1))
    again = await import_events(path, policy=POLICY, clock=clock)

    # Then nothing is credited twice: every recorded row is a duplicate
    assert (first.recorded, first.duplicates, first.rejected) == (40, 0, 1)
    assert (again.read, again.recorded, again.duplicates, again.rejected) == (41, 0, 40, 1)
    assert [await state_of(m) for m in members] == before
    assert await Event.all().count() == events
    assert list(read_report(again.rejected_path)) == [42]  # the report is the last run's


@pytest.mark.usefixtures("orm")
async def test_rejected_rows_are_reported_by_line_and_reason_and_good_rows_still_recorded(
    clock, tmp_path
):
    # Given a file with good rows among rows broken in every way a row can be
    clock.set(START)
    member = await factories.member(external_id="m-1", joined_at=START - timedelta(days=400))
    at = (START - timedelta(hours=2)).isoformat()
    old = (START - timedelta(days=45)).isoformat()
    lines = [
        ",".join(EVENT_HEADER),
        f"k1,m-1,check_in,{at},,",  # 2
        f'k2,m-1,purchase,{at},12.50,"{{""sku"": ""a""}}"',  # 3
        f"k3,nobody,check_in,{at},,",  # 4
        f"k4,m-1,teleport,{at},,",  # 5
        "k5,m-1,check_in,yesterday,,",  # 6
        f"k6,m-1,purchase,{at},-3,",  # 7
        f"k7,m-1,check_in,{old},,",  # 8
        f"k2,m-1,purchase,{at},99.00,",  # 9: k2 again, another amount
        f"k8,m-1,share,{at},,[1]",  # 10
        f'"k9\nstill k9",m-1,check_in,{at},,',  # 11-12: a quoted cell over two lines
        f"k10,m-1,check_in,{at},,,extra",  # 13
        "",  # 14: blank, skipped
        f"k11,m-1,share,{at},,",  # 15
        f"k12,,check_in,{at},,",  # 16
        f"k13,m-1,check_in,{at[:19]},,",  # 17: no offset
        f"k14,m-1,purchase,{at},lots,{{",  # 18
    ]
    path = tmp_path / "events.csv"
    path.write_bytes(
        ("\n".join(lines) + "\n").encode() + f"k15,m-\xff,check_in,{at},,\n".encode("latin-1")
    )  # 19: not UTF-8

    # When it is imported
    report = await import_events(path, policy=POLICY, clock=clock)

    # Then the good rows are recorded and every other row is reported with its line and why
    assert (report.read, report.recorded, report.duplicates, report.rejected) == (16, 4, 0, 12)
    assert sorted(await Event.all().values_list("idempotency_key", flat=True)) == sorted(
        ["k1", "k2", "k9\nstill k9", "k11"]
    )
    stored = await Member.get(id=member.id)
    assert stored.points_balance == 5 + 12 + 5 + 2  # check-ins, the purchase, the share
    rejected = read_report(report.rejected_path)
    expected = {
        4: ("NotFound", "unknown member 'nobody'"),
        5: ("NotFound", "unknown event type 'teleport'"),
        6: ("BadRow", "occurred_at: 'yesterday' is not an ISO 8601 date and time"),
        7: ("ValidationFailed", "amount: must not be negative"),
        8: ("ValidationFailed", "occurredAt: must be within the last 30 days"),
        9: ("IdempotencyConflict", "idempotency key 'k2' was already used for a different event"),
        10: ("BadRow", "attributes: must be a JSON object"),
        13: ("BadRow", "has 7 cells, the header has 6"),
        16: ("BadRow", "give exactly one of external_member_id and member_id"),
        17: ("BadRow", f"occurred_at: {at[:19]!r} needs a time zone offset (e.g. +08:00 or Z)"),
        18: ("BadRow", "amount: 'lots' is not a number; attributes: not valid JSON"),
        19: ("BadRow", "not UTF-8 text"),
    }
    assert {line: (error, reason) for line, (error, reason, _) in rejected.items()} == expected
    assert rejected[7][2] == ["k6", "m-1", "purchase", at, "-3", ""]  # the row, to fix
    assert rejected[13][2] == ["k10", "m-1", "check_in", at, "", "", "extra"]
    assert "m-\udcff" in rejected[19][2]  # the bytes written back as they were read
    assert sorted((r.line, r.error, r.reason) for r in report.rejections) == [
        (line, error, reason) for line, (error, reason) in sorted(expected.items())
    ]


@pytest.mark.usefixtures("orm")
async def test_a_corrected_report_is_imported_as_it_is(clock, tmp_path):
    # Given a report of rejected rows, one of them corrected by hand
    clock.set(START)
    await factories.member(external_id="m-1")
    at = (START + timedelta(minutes=1)).isoformat()
    path = write_csv(
        tmp_path / "events.csv",
        EVENT_HEADER,
        [["k1", "m-l", "check_in", at, "", ""], ["k2", "nobody", "check_in", at, "", ""]],
    )
    clock.advance(timedelta(minutes=5))
    first = await import_events(path, policy=POLICY, clock=clock)
    report = first.rejected_path.read_text().replace(",m-l,", ",m-1,")
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(report)

    # When the corrected report is imported
    second = await import_events(fixed, policy=POLICY, clock=clock)

    # Then its line, error and reason columns are ignored and the fixed row is recorded
    assert (first.recorded, first.rejected) == (0, 2)
    assert (second.recorded, second.rejected) == (1, 1)
    assert list(read_report(second.rejected_path)) == [3]  # a line of the report itself


@pytest.mark.usefixtures("orm")
async def test_the_backfill_window_is_lifted_for_a_run(clock, tmp_path):
    # Given events older than the 30 days a service accepts
    clock.set(START)
    await factories.member(external_id="m-1", joined_at=START - timedelta(days=400))
    path = write_csv(
        tmp_path / "history.csv",
        EVENT_HEADER,
        [
            ["h1", "m-1", "check_in", (START - timedelta(days=60)).isoformat(), "", ""],
            ["h2", "m-1", "check_in", (START - timedelta(days=200)).isoformat(), "", ""],
        ],
    )

    # When they are imported with the default window, then with 90 days
    default = await import_events(path, policy=POLICY, clock=clock)
    lifted = await import_events(
        path, policy=EventPolicy(zone=ZONE, backfill_window=timedelta(days=90)), clock=clock
    )

    # Then the default refuses both, 90 days records the one within them
    assert (default.recorded, default.rejected) == (0, 2)
    assert (lifted.recorded, lifted.rejected) == (1, 1)
    assert read_report(lifted.rejected_path)[3][:2] == (
        "ValidationFailed",
        "occurredAt: must be within the last 90 days",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "has no header line"),
        ("idempotency_key,type,occurred_at\n", "needs an external_member_id or a member_id"),
        (
            "idempotency_key,external_member_id,type,ocurred_at\n",
            "has unknown columns 'ocurred_at'; lacks the occurred_at column",
        ),
        (
            "idempotency_key,member_id,type,occurred_at,type\n",
            "names a column twice: type",
        ),
        ("k1,m-1,check_in,2026-03-01T10:00:00+08:00\n", "has unknown columns 'k1'"),
    ],
)
async def test_a_malformed_header_is_refused_and_nothing_is_written(tmp_path, content, message):
    # Given a file whose first line is not an events header
    path = tmp_path / "events.csv"
    path.write_text(content)

    # When it is imported, then it is refused as a whole, saying what is wrong
    with pytest.raises(ImportRefused, match=message) as refused:
        await import_events(path, policy=POLICY, clock=factories.now)
    assert "expected columns: idempotency_key, external_member_id" in str(refused.value)
    assert not (tmp_path / "events.csv.rejected.csv").exists()


async def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ImportRefused, match=r"cannot read .*nope\.csv: No such file"):
        await import_events(tmp_path / "nope.csv", policy=POLICY, clock=factories.now)
    with pytest.raises(ImportRefused, match="lacks the display_name column"):
        await import_members(
            write_csv(tmp_path / "m.csv", ["external_id", "name"], []),
            clock=factories.now,
            zone=ZONE,
        )


@pytest.mark.usefixtures("orm")
async def test_members_are_imported_then_their_events(clock, tmp_path):
    # Given a programme and a file of members, with a repeat and bad rows
    clock.set(START)
    await programme()
    joined = START - timedelta(days=90)
    members = write_csv(
        tmp_path / "members.csv",
        ["external_id", "display_name", "birthday", "joined_at"],
        [
            ["crm-1", "Ada", "1990-02-03", joined.isoformat()],
            ["crm-2", " Bob ", "", ""],
            ["crm-1", "Ada again", "", ""],
            ["", "Nobody", "", ""],
            ["crm-3", "Cy", "1990-13-01", ""],
            ["crm-4", "Di", "", "2026-01-01T00:00"],
            ["crm-5", "Ed", "2999-01-01", ""],
        ],
    )

    # When the members are imported, twice
    first = await import_members(members, clock=clock, zone=ZONE)
    again = await import_members(members, clock=clock, zone=ZONE)

    # Then each new external id is enrolled once, with its enrolment row, the rest reported
    assert (first.read, first.recorded, first.duplicates, first.rejected) == (7, 2, 1, 4)
    assert (again.recorded, again.duplicates, again.rejected) == (0, 3, 4)
    ada = await Member.get(external_id="crm-1")
    bob = await Member.get(external_id="crm-2")
    base = await Tier.get(code="member")
    assert (ada.display_name, ada.birthday.isoformat(), ada.joined_at, ada.tier_id) == (
        "Ada",
        "1990-02-03",
        joined,
        base.id,
    )
    assert (bob.display_name, bob.birthday, bob.joined_at) == ("Bob", None, START)
    changes = await TierChange.filter(member_id__in=[ada.id, bob.id]).order_by("member_id")
    assert [
        (c.member_id, c.from_tier_id, c.to_tier_id, c.reason, c.changed_at) for c in changes
    ] == [
        (ada.id, None, base.id, TierChangeReason.ENROLLMENT, joined),
        (bob.id, None, base.id, TierChangeReason.ENROLLMENT, START),
    ]
    assert await Member.all().count() == 2
    reasons = {
        line: (error, why) for line, (error, why, _) in read_report(again.rejected_path).items()
    }
    assert reasons == {
        5: ("ValidationFailed", "externalId: must not be empty"),
        6: ("BadRow", "birthday: '1990-13-01' is not a date (YYYY-MM-DD)"),
        7: ("BadRow", "joined_at: '2026-01-01T00:00' needs a time zone offset (e.g. +08:00 or Z)"),
        8: ("ValidationFailed", "birthday: must not be in the future"),
    }

    # And when their history is imported (by member number too), it is credited to them
    clock.advance(timedelta(minutes=10))
    events = write_csv(
        tmp_path / "events.csv",
        ["idempotency_key", "external_member_id", "member_id", "type", "occurred_at", "amount"],
        [
            ["e1", "crm-1", "", "purchase", (START - timedelta(days=3)).isoformat(), "40"],
            ["e2", "", str(bob.id), "check_in", (START + timedelta(minutes=1)).isoformat(), ""],
            ["e3", "crm-2", "", "check_in", (START - timedelta(days=3)).isoformat(), ""],
        ],
    )
    report = await import_events(events, policy=POLICY, clock=clock)

    assert (report.recorded, report.rejected) == (2, 1)
    assert read_report(report.rejected_path)[4][:2] == (
        "ValidationFailed",
        "occurredAt: must not be before the member joined",
    )
    assert (await Member.get(id=ada.id)).points_balance == 40
    assert (await Member.get(id=bob.id)).points_balance == 5 + 10  # check-in and "daily"


@pytest.mark.usefixtures("orm")
async def test_members_need_a_ladder(clock, tmp_path):
    path = write_csv(tmp_path / "m.csv", ["external_id", "display_name"], [["a", "A"]])
    with pytest.raises(ImportRefused, match="publish a ladder version first"):
        await import_members(path, clock=clock, zone=ZONE)
