"""A member's life after enrolment: an operator changes its profile, deactivates it and
reactivates it. Every change is audited in its own transaction.

A deactivated member (``member.deactivated_at`` set) is refused where it acts: the event
path refuses its events (app/services/activity/events.py, on the member row it locks),
redemptions refuse to spend its points (app/services/rewards/redemptions.py, in the
balance UPDATE's condition), the expiry job passes it by (app/services/points/expiry.py),
the boards hide it (``leaderboard_member.member_active``, written here in the same
transaction), the tier evaluation neither warns nor demotes it
(app/services/tiers/evaluation.py), and the birthday and season jobs grant it nothing
(app/services/benefits/birthdays.py, app/services/seasons/switch.py). Reactivation undoes
all of it and nothing else: the member's own leaderboard opt-out and an admin's flag stay
as they were; the benefits of the seasons running at that moment are granted at once (the
season job's sweep passed the member by).

Each change writes its outbox row in its transaction: the webhooks ``member.updated``
(``changes``: the fields given, by their schema names, with their new values),
``member.deactivated`` and ``member.reactivated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from app.models import LeaderboardMember, Member, OutboxMessage, Tier
from app.services.benefits.grants import grant_running_season_benefits
from app.services.leaderboards.boards import change_standing
from app.services.notifications.outbox import outbox_written
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput, MemberMergedAway
from app.services.shared.lookups import get_locked_or_not_found, get_or_not_found
from gamification.members import canonical_language_tag, check_deactivation_reason, check_profile

# The member's own columns an update may change, by Python name.
PROFILE_FIELDS = ("display_name", "birthday", "time_zone", "locale", "marketing_opt_out")
# Kept in leaderboard_member (its ``visible``), the preference the member sets itself.
LEADERBOARD_OPT_OUT = "leaderboard_opt_out"
UPDATABLE = (*PROFILE_FIELDS, LEADERBOARD_OPT_OUT)
# An erased member (app/services/members/privacy.py) stays as erasure left it.
ERASED = "the member's data was erased: it cannot be changed or reactivated"


@dataclass(frozen=True, slots=True)
class StatusChange:
    member: Member
    # False when the member already was in the state asked for: nothing was written.
    changed: bool


async def update_member(
    *, member_id: int, changes: dict[str, Any], actor: Actor, now: datetime, zone: ZoneInfo
) -> Member:
    """Apply the given profile fields (by Python name, from ``UPDATABLE``; None clears a
    field that may be cleared) and audit the change, before and after of the fields given.
    Nothing is written when any field is refused."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise ValueError(f"not profile fields: {unknown}")
    if not changes:
        raise InvalidInput.single("input", "give at least one field to change")
    problems = check_profile(changes, today=now.astimezone(zone).date())
    if problems:
        raise InvalidInput(problems)
    profile = {name: _stored(name, changes[name]) for name in PROFILE_FIELDS if name in changes}
    async with in_transaction() as conn:
        member = await get_locked_or_not_found(Member, member_id, conn=conn)
        if member.erased_at is not None:
            raise InvalidInput.single("id", ERASED)
        async with audited(
            conn,
            actor=actor,
            action="member.update",
            target_type="Member",
            target_id=member_id,
            now=now,
        ) as change:
            standing = await LeaderboardMember.filter(member_id=member_id).using_db(conn).first()
            before = {name: _plain(getattr(member, name)) for name in profile}
            after = {name: _plain(value) for name, value in profile.items()}
            if profile:
                for name, value in profile.items():
                    setattr(member, name, value)
                member.updated_at = now
                await member.save(using_db=conn, update_fields=[*profile, "updated_at"])
            if LEADERBOARD_OPT_OUT in changes:
                opt_out = bool(changes[LEADERBOARD_OPT_OUT])
                before[LEADERBOARD_OPT_OUT] = standing is not None and not standing.visible
                after[LEADERBOARD_OPT_OUT] = opt_out
                await change_standing(
                    conn, member_id=member_id, changes={"visible": not opt_out}, now=now
                )
            change.before, change.after = before, after
            await OutboxMessage.create(
                topic="member.updated",
                payload={
                    "member_id": member_id,
                    "changes": {_schema_name(k): v for k, v in after.items()},
                },
                created_at=now,
                using_db=conn,
            )
    outbox_written()
    return member


def _stored(name: str, value: Any) -> Any:
    """A checked value as the column keeps it."""
    if name == "display_name":
        return value.strip()
    if name == "locale" and value is not None:
        return canonical_language_tag(value)
    return value


def _schema_name(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def deactivate_member(
    *, member_id: int, reason: str, actor: Actor, now: datetime
) -> StatusChange:
    """Deactivate the member: its events and redemptions are refused, its points do not
    expire, it leaves every board. A member already deactivated is left as it is."""
    problems = check_deactivation_reason(reason)
    if problems:
        raise InvalidInput(problems)
    reason = reason.strip()
    return await _set_status(
        member_id,
        active=False,
        values={"deactivated_at": now, "deactivation_reason": reason},
        recorded={"active": False, "reason": reason},
        told={"reason": reason},
        actor=actor,
        now=now,
    )


async def reactivate_member(*, member_id: int, actor: Actor, now: datetime) -> StatusChange:
    """Undo a deactivation: events, redemptions, expiry and the boards take the member as
    before. A member that is active is left as it is."""
    return await _set_status(
        member_id,
        active=True,
        values={"deactivated_at": None, "deactivation_reason": ""},
        recorded={"active": True},
        told={},
        actor=actor,
        now=now,
    )


async def _set_status(
    member_id: int,
    *,
    active: bool,
    values: dict[str, Any],
    recorded: dict[str, Any],
    told: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> StatusChange:
    async with in_transaction() as conn:
        if (
            active
            and await Member.filter(id=member_id, erased_at__isnull=False).using_db(conn).exists()
        ):
            raise InvalidInput.single("id", ERASED)
        # The condition on the current state makes the change happen once, however many
        # operators ask at the same moment; the row lock it takes queues the member's events.
        changed = (
            await Member.filter(id=member_id, deactivated_at__isnull=not active)
            .using_db(conn)
            .update(**values, updated_at=now)
        )
        member = await get_or_not_found(Member, member_id, conn=conn)
        if active and member.merged_into_id is not None:
            # Merged into another member: deactivated for good (app/services/members/merging.py).
            raise MemberMergedAway(member.id, member.merged_into_id)
        if changed:
            async with audited(
                conn,
                actor=actor,
                action="member.reactivate" if active else "member.deactivate",
                target_type="Member",
                target_id=member_id,
                now=now,
            ) as change:
                await change_standing(
                    conn, member_id=member_id, changes={"member_active": active}, now=now
                )
                change.before, change.after = {"active": not active}, recorded
                await OutboxMessage.create(
                    topic="member.reactivated" if active else "member.deactivated",
                    payload={"member_id": member_id, **told},
                    created_at=now,
                    using_db=conn,
                )
                if active:
                    tier = await Tier.get(id=member.tier_id, using_db=conn)
                    await grant_running_season_benefits(
                        conn, member_id=member_id, tier_code=tier.code, now=now
                    )
    if changed:
        outbox_written()
    return StatusChange(member, changed=bool(changed))
