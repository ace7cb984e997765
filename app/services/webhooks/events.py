"""The webhook events made from outbox rows, and the relay sink that writes their deliveries.

Deliveries are written by the outbox relay, inside the transaction in which it marks the
rows relayed, rather than beside every change: a change writes its outbox row already (one
place to get right instead of one per service), a rolled-back change has no outbox row and
so no delivery, and a committed one keeps its row until a relay pass has written the
deliveries and committed. A pass that runs twice over the same rows (a crash between the
inserts and the commit is impossible, but a sink raising after them rolls back and retries)
adds nothing: a delivery is unique by (endpoint, outbox row, position in the row).

Only endpoints enabled when the row is relayed get it; one registered later does not
receive older events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from app.clock import Clock, system_clock
from app.dialect import Dialect
from app.models import DeliveryStatus
from app.services.notifications.outbox import OutboxEntry

# Every event type an endpoint may subscribe to, with what it tells (docs/api/webhooks.md).
EVENT_TYPES: dict[str, str] = {
    "points.earned": "a recorded event credited points",
    "points.redeemed": "a reward was redeemed with points",
    "points.refunded": "a cancelled redemption gave its points back",
    "points.expired": "points expired",
    "points.reversed": "a reversed event took its points back",
    "points.adjusted": "an operator awarded or deducted points",
    "task.completed": "a member completed a growth task",
    "badge.earned": "a member earned a badge or a badge level",
    "tier.promoted": "a recorded event moved a member up a tier",
    "tier.demoted": "the tier evaluation moved a member down a tier",
    "benefit.granted": "a benefit was granted to a member",
    "member.merged": "a member enrolled twice was merged into the other (the survivor)",
    "member.erased": "a member's personal data was erased (ids only)",
    "reward.coupons_exhausted": "a reward's coupon pool ran out of codes",
    # Member lifecycle, warnings, revocations, seasons and ladder versions (issue 16).
    "member.created": "a member was enrolled (one by one or by a bulk import)",
    "member.updated": "an operator changed a member's profile",
    "member.deactivated": "an operator deactivated a member",
    "member.reactivated": "an operator reactivated a member",
    "tier.warned": "the tier evaluation warned a member at risk of demotion",
    "benefit.revoked": "a member's benefit was switched off (demotion, season end)",
    "season.started": "a season started (its benefits are being switched on)",
    "season.ended": "a season ended (its benefits were switched off)",
    "ladder.published": "an admin published a new tier ladder version",
}
# Events that name the member by Laurel's id only: after an erasure the external id is a
# pseudonym, and the event must not carry anything personal.
IDS_ONLY = frozenset({"member.erased"})

LOOKUP_SLICE = 10_000
DELIVERY_COLUMNS = (
    "endpoint_id",
    "outbox_id",
    "position",
    "event_type",
    "msg_id",
    "payload",
    "status",
    "attempts",
    "next_try_at",
    "created_at",
)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    outbox_id: int
    position: int
    type: str
    member_id: int | None
    at: datetime
    data: dict[str, Any]

    @property
    def msg_id(self) -> str:
        """The ``webhook-id``: the same for this event on every try and every endpoint."""
        return f"msg_{self.outbox_id}_{self.position}"

    def payload(self, external_ids: dict[int, str]) -> dict[str, Any]:
        """The body, as Standard Webhooks suggests: type, timestamp and data. ``sequence``
        orders one member's events (deliveries themselves may arrive out of order)."""
        member: dict[str, Any] = {}
        if self.member_id is not None:
            member["memberId"] = self.member_id
            if self.type not in IDS_ONLY:
                member["memberExternalId"] = external_ids.get(self.member_id)
        return {
            "type": self.type,
            "timestamp": self.at.isoformat(),
            "sequence": [self.outbox_id, self.position],
            "data": {**member, **self.data},
        }


def _changes(entry: OutboxEntry) -> Iterator[tuple[int | None, str, dict[str, Any]]]:
    """(member, type, data) of each event of a row: the row's member, or for the rows that
    list many members (a bulk import, a batch of revocations) each item's own."""
    own = entry.payload.get("member_id")
    for type_, data in _member_row_changes(entry):
        yield (int(own) if own is not None else None), type_, data
    yield from _listing_row_changes(entry)


def _listing_row_changes(entry: OutboxEntry) -> Iterator[tuple[int | None, str, dict[str, Any]]]:
    p = entry.payload
    if entry.topic == "members.created":
        for item in p["members"]:
            yield (
                int(item["member_id"]),
                "member.created",
                {"tier": item["tier"], "joinedAt": item["joinedAt"], "source": p["source"]},
            )
    elif entry.topic == "benefits.revoked":
        for item in p["grants"]:
            data = {k: v for k, v in item.items() if k != "member_id"}
            yield int(item["member_id"]), "benefit.revoked", {**data, "reason": p["reason"]}
    elif entry.topic in ("season.started", "season.ended", "ladder.published"):
        yield None, entry.topic, dict(p)


def _member_row_changes(entry: OutboxEntry) -> Iterator[tuple[str, dict[str, Any]]]:
    p = entry.payload
    if entry.topic == "event.recorded":
        # Points held in a return window move no balance: their release is the change.
        if p.get("points") and not p.get("pointsPending"):
            yield (
                "points.earned",
                {"points": p["points"], "balance": p.get("balance"), "eventId": p["event_id"]},
            )
        for task in p.get("tasksCompleted") or []:
            yield "task.completed", {**task, "eventId": p["event_id"]}
        for badge in p.get("badgesEarned") or []:
            yield "badge.earned", {**badge, "eventId": p["event_id"]}
        if p.get("tierChange"):
            yield "tier.promoted", {**p["tierChange"], "eventId": p["event_id"]}
    elif entry.topic == "event.reversed" and p.get("points"):
        yield (
            "points.reversed",
            {"points": p["points"], "balance": p["balance"], "eventId": p["event_id"]},
        )
    elif entry.topic == "reward.redeemed":
        yield (
            "points.redeemed",
            {
                "points": -p["points"],
                "balance": p["balance"],
                "rewardCode": p["reward_code"],
                "redemptionId": p["redemption_id"],
                **({"couponCode": p["coupon_code"]} if p.get("coupon_code") else {}),
            },
        )
    elif entry.topic == "reward.cancelled":
        yield (
            "points.refunded",
            {
                "points": p["points"],
                "balance": p["balance"],
                "rewardCode": p["reward_code"],
                "redemptionId": p["redemption_id"],
                "reason": p["reason"],
            },
        )
    elif entry.topic == "reward.coupons_exhausted":
        yield (
            "reward.coupons_exhausted",
            {"rewardId": p["reward_id"], "rewardCode": p["reward_code"], "issued": p["issued"]},
        )
    elif entry.topic == "points.adjusted":
        yield (
            "points.adjusted",
            {"points": p["delta"], "balance": p["balance"], "reason": p.get("reason")},
        )
    elif entry.topic == "points.released":  # an event's pending points, credited now
        yield (
            "points.earned",
            {"points": p["points"], "balance": p["balance"], "eventId": p["event_id"]},
        )
    elif entry.topic == "points.expired":
        yield "points.expired", {"points": p["delta"], "balance": p["balance"]}
    elif entry.topic == "benefits.granted":
        for grant in p["grants"]:
            yield "benefit.granted", dict(grant)
    elif entry.topic == "member.merged":
        yield (
            "member.merged",
            {
                "duplicateMemberId": p["duplicate_id"],
                "duplicateExternalId": p["duplicate_external_id"],
                "points": p["points"],
                "balance": p["balance"],
                "lifetimePoints": p["lifetime_points"],
                "growth": p["growth"],
                "tierChange": p.get("tierChange"),
            },
        )
    elif entry.topic == "member.erased":
        yield "member.erased", {}
    elif entry.topic == "leaderboard.member_changed" and p.get("tierChange"):
        # Written by the tier evaluation for each member it demotes.
        yield "tier.demoted", {**p["tierChange"], "evaluationId": p.get("evaluation")}
    elif entry.topic == "member.updated":
        yield "member.updated", {"changes": p["changes"]}
    elif entry.topic == "member.deactivated":
        yield "member.deactivated", {"reason": p["reason"]}
    elif entry.topic == "member.reactivated":
        yield "member.reactivated", {}
    elif entry.topic == "tier.warned":
        yield "tier.warned", {k: v for k, v in p.items() if k != "member_id"}


def webhook_events(entry: OutboxEntry) -> list[WebhookEvent]:
    """The webhook events an outbox row tells (none for topics no webhook carries)."""
    return [
        WebhookEvent(
            outbox_id=entry.id,
            position=position,
            type=type_,
            member_id=member_id,
            at=entry.created_at,
            data=data,
        )
        for position, (member_id, type_, data) in enumerate(_changes(entry))
    ]


async def write_deliveries(entries: Sequence[OutboxEntry], *, now: datetime) -> int:
    """Write a pending delivery of each event of ``entries`` to every enabled endpoint
    subscribed to its type, in the caller's transaction (the relay's); return how many
    statements' worth of rows were offered (existing ones are skipped by the unique key)."""
    events = [event for entry in entries for event in webhook_events(entry)]
    if not events:
        return 0
    async with in_transaction() as conn:  # inside the relay's transaction: a savepoint
        d = Dialect(conn)
        endpoints = await conn.execute_query_dict(
            d.numbered("SELECT id, event_types FROM webhook_endpoint WHERE enabled = ?"),
            [True],
        )
        wanted = [(int(e["id"]), set(d.read_json(e["event_types"]))) for e in endpoints]
        pairs = [
            (endpoint_id, ev) for ev in events for endpoint_id, types in wanted if ev.type in types
        ]
        if not pairs:
            return 0
        member_ids = sorted({ev.member_id for _, ev in pairs if ev.member_id is not None})
        external_ids: dict[int, str] = {}
        # In slices: a relay batch of rows that list members (a season's end) may name
        # more members than SQLite takes parameters.
        for start in range(0, len(member_ids), LOOKUP_SLICE):
            where, params = d.any_of("id", member_ids[start : start + LOOKUP_SLICE], "bigint")
            rows = await conn.execute_query_dict(
                d.numbered(f"SELECT id, external_id FROM member WHERE {where}"), params
            )
            external_ids |= {int(r["id"]): r["external_id"] for r in rows}
        rows_to_write = [
            [
                endpoint_id,
                ev.outbox_id,
                ev.position,
                ev.type,
                ev.msg_id,
                ev.payload(external_ids),
                DeliveryStatus.PENDING.value,
                0,
                now,
                now,
            ]
            for endpoint_id, ev in pairs
        ]
        for statement in d.insert(
            "webhook_delivery",
            DELIVERY_COLUMNS,
            rows_to_write,
            conflict="ON CONFLICT (endpoint_id, outbox_id, position) DO NOTHING",
        ):
            await conn.execute_query(d.numbered(statement.sql), statement.params)
    return len(rows_to_write)


class WebhookSink:
    """The relay sink that turns relayed outbox rows into webhook deliveries."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self.clock = clock

    async def __call__(self, entries: Sequence[OutboxEntry]) -> None:
        await write_deliveries(entries, now=self.clock())
