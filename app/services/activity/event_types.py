"""The event catalogue as marketers keep it: types added, changed, switched off.

Validated, audited, one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.fields import CharField
from tortoise.transactions import in_transaction

from app.models import EventType
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import create_entry
from app.services.shared.errors import InvalidInput, NotFound
from app.services.shared.lookups import get_locked_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from gamification.activity.attributes import AttributeSpec, check_schema
from gamification.activity.event_types import check_event_type

EVENT_TYPE_FIELDS = (
    "code",
    "name",
    "base_points",
    "points_per_unit",
    "counts_as_spend",
    "counts_as_referral",
    "pending_days",
    "active",
)

# What may change after creation: the code is what tasks, badges and events refer to.
EVENT_TYPE_CHANGEABLE = (
    "name",
    "base_points",
    "points_per_unit",
    "counts_as_spend",
    "counts_as_referral",
    "pending_days",
)


def _check_event_type(values: dict[str, Any]) -> None:
    problems = check_event_type(
        code=values["code"],
        name=values["name"],
        base_points=values["base_points"],
        points_per_unit=values["points_per_unit"],
        pending_days=values.get("pending_days", 0),
    )
    if problems:
        raise InvalidInput(problems)


async def create_event_type(
    *,
    code: str,
    name: str,
    base_points: int = 0,
    points_per_unit: Decimal = Decimal(0),
    counts_as_spend: bool = False,
    counts_as_referral: bool = False,
    pending_days: int = 0,
    actor: Actor,
    now: datetime,
) -> EventType:
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "base_points": base_points,
        "points_per_unit": points_per_unit,
        "counts_as_spend": counts_as_spend,
        "counts_as_referral": counts_as_referral,
        "pending_days": pending_days,
    }
    _check_event_type(values)
    values["name"] = name.strip()
    taken = InvalidInput.single("code", f"{code!r} is already used by another event type")
    return await create_entry(
        EventType, values, "eventType.create", EVENT_TYPE_FIELDS, actor=actor, now=now, taken=taken
    )


async def update_event_type(
    *,
    changes: dict[str, Any],
    actor: Actor,
    now: datetime,
    event_type_id: int | None = None,
    code: str | None = None,
) -> EventType:
    """Change some fields of an event type (named by id or by code); events recorded stay."""
    update = PartialUpdate(changes, changeable=(*EVENT_TYPE_CHANGEABLE, "active"))
    column = EventType._meta.fields_map["code"]
    if code is not None and isinstance(column, CharField) and len(code) > column.max_length:
        # Tortoise refuses a filter value longer than the column (a ValidationError, an
        # internal error); no such code can exist.
        raise NotFound("EventType", code)
    async with in_transaction() as conn:
        if code is None:
            event_type = await get_locked_or_not_found(EventType, event_type_id, conn=conn)
        else:
            event_type = await get_locked_or_not_found(EventType, code, conn=conn, code=code)
        if all(getattr(event_type, name) == value for name, value in update.changes.items()):
            return event_type
        async with audited(
            conn,
            actor=actor,
            action="eventType.update",
            subject=event_type,
            fields=EVENT_TYPE_FIELDS,
            now=now,
        ):
            _check_event_type(update.merged(event_type, EVENT_TYPE_FIELDS))
            update.stripped("name").apply(event_type)
            await event_type.save(using_db=conn)
    return event_type


async def set_event_type_active(
    *, event_type_id: int, active: bool, actor: Actor, now: datetime
) -> EventType:
    """Stop (or resume) accepting events of a type. Setting what it has changes nothing."""
    return await update_event_type(
        event_type_id=event_type_id, changes={"active": active}, actor=actor, now=now
    )


async def set_event_type_attributes(
    *,
    attributes: Sequence[AttributeSpec] | None,
    actor: Actor,
    now: datetime,
    event_type_id: int | None = None,
    code: str | None = None,
) -> EventType:
    """Declare the attributes an event type's events carry (None: any, as before schemas).
    Events recorded stay; rules that test an attribute the new schema drops stop matching."""
    problems = check_schema(attributes or ())
    if problems:
        raise InvalidInput(problems)
    stored = None if attributes is None else [a.to_json() for a in attributes]
    if code is not None and len(code) > 32:
        raise NotFound("EventType", code)
    async with in_transaction() as conn:
        if code is None:
            event_type = await get_locked_or_not_found(EventType, event_type_id, conn=conn)
        else:
            event_type = await get_locked_or_not_found(EventType, code, conn=conn, code=code)
        if event_type.attribute_schema == stored:
            return event_type
        async with audited(
            conn,
            actor=actor,
            action="eventType.setAttributes",
            subject=event_type,
            fields=("code", "attribute_schema"),
            now=now,
        ):
            event_type.attribute_schema = stored
            await event_type.save(using_db=conn, update_fields=["attribute_schema"])
    return event_type
