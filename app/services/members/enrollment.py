"""Enrolling members and reading them back.

Every enrolment writes a ``members.created`` outbox row in its transaction (the webhook
``member.created``); a bulk import writes one row per chunk, listing its members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import Member, OutboxMessage, TierChange, TierChangeReason
from app.services.notifications.outbox import outbox_written
from app.services.shared.errors import InvalidInput
from app.services.tiers.ladder import base_tier
from gamification.members import check_enrollment


@dataclass(frozen=True, slots=True)
class Enrollment:
    member: Member
    # False when the external id was enrolled before: the existing member is returned as is.
    created: bool


async def enroll_member(
    *,
    external_id: str,
    display_name: str,
    birthday: date | None = None,
    joined_at: datetime | None = None,
    now: datetime,
    zone: ZoneInfo,
) -> Enrollment:
    """Add a member on the base tier, or return the member already enrolled under the id
    (for an id merged away, the member it was merged into).

    Idempotent on ``external_id`` by the unique constraint, so two concurrent enrollments
    of one id create one member.
    """
    problems = check_enrollment(
        external_id=external_id,
        display_name=display_name,
        birthday=birthday,
        joined_at=joined_at,
        now=now,
        today=now.astimezone(zone).date(),
    )
    if problems:
        raise InvalidInput(problems)
    existing = await enrolled_under(external_id)
    if existing is not None:
        return Enrollment(existing, created=False)
    joined = joined_at or now
    try:
        async with in_transaction() as conn:
            tier = await base_tier(now=now, using_db=conn)
            member = await Member.create(
                external_id=external_id,
                display_name=display_name.strip(),
                birthday=birthday,
                joined_at=joined,
                tier_id=tier.id,
                using_db=conn,
            )
            await TierChange.create(
                member_id=member.id,
                from_tier_id=None,
                to_tier_id=tier.id,
                reason=TierChangeReason.ENROLLMENT,
                ladder_version_id=tier.ladder_version_id,
                changed_at=joined,
                using_db=conn,
            )
            await announce_enrolments(
                conn, members=[(member.id, joined)], tier_code=tier.code, source="api", now=now
            )
    except IntegrityError:
        # A concurrent enrollment of the same external id won the race.
        existing = await enrolled_under(external_id)
        if existing is None:
            raise
        return Enrollment(existing, created=False)
    outbox_written()
    return Enrollment(member, created=True)


async def enrolled_under(external_id: str) -> Member | None:
    """The member enrolled under ``external_id``: for a member merged into another (the
    same person enrolled twice), the member it was merged into."""
    member = await Member.get_or_none(external_id=external_id)
    if member is not None and member.merged_into_id is not None:
        return await Member.get(id=member.merged_into_id)
    return member


async def announce_enrolments(
    conn: BaseDBAsyncClient,
    *,
    members: Sequence[tuple[int, datetime]],
    tier_code: str,
    source: str,
    now: datetime,
) -> None:
    """One ``members.created`` outbox row for members just enrolled, (id, joined at) each,
    in the transaction that enrolled them. ``source``: ``api`` or ``import``."""
    if not members:
        return
    await OutboxMessage.create(
        topic="members.created",
        payload={
            "source": source,
            "members": [
                {"member_id": member_id, "tier": tier_code, "joinedAt": joined.isoformat()}
                for member_id, joined in members
            ],
        },
        created_at=now,
        using_db=conn,
    )


async def members_page(*, first: int, after_id: int | None) -> tuple[list[Member], bool]:
    """Members in id order after ``after_id``; the flag says whether more follow."""
    query = Member.all().order_by("id")
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    rows = await query.limit(first + 1)
    return rows[:first], len(rows) > first
