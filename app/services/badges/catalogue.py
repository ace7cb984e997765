"""Badges as marketers define them: created and changed.

Validated, audited, one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from app.models import Badge, EventType, GrowthTask
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import create_entry
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from gamification.badges import BadgeMetric, check_badge

BADGE_FIELDS = ("code", "name", "description", "metric", "subject", "thresholds", "hidden")


# What may change after creation: the code is what tasks refer to.
BADGE_CHANGEABLE = ("name", "description", "metric", "subject", "thresholds", "hidden")


async def _subject_known(metric: BadgeMetric, subject: str | None) -> bool | None:
    if not subject:
        return None
    if metric is BadgeMetric.TASK_COMPLETED:
        return await GrowthTask.filter(code=subject).exists()
    if metric is BadgeMetric.EVENTS:
        return await EventType.filter(code=subject).exists()
    return None


async def _check_badge(values: dict[str, Any]) -> None:
    problems = check_badge(
        code=values["code"],
        name=values["name"],
        description=values["description"],
        metric=values["metric"],
        subject=values["subject"],
        subject_known=await _subject_known(values["metric"], values["subject"]),
        thresholds=values["thresholds"],
    )
    if problems:
        raise InvalidInput(problems)


async def create_badge(
    *,
    code: str,
    name: str,
    metric: BadgeMetric,
    thresholds: list[int],
    subject: str | None = None,
    description: str = "",
    hidden: bool = False,
    actor: Actor,
    now: datetime,
) -> Badge:
    values: dict[str, Any] = {
        "code": code,
        "name": name,
        "description": description,
        "metric": metric,
        "subject": subject,
        "thresholds": list(thresholds),
        "hidden": hidden,
    }
    await _check_badge(values)
    values["name"] = name.strip()
    taken = InvalidInput.single("code", f"{code!r} is already used by another badge")
    return await create_entry(
        Badge, values, "badge.create", BADGE_FIELDS, actor=actor, now=now, taken=taken
    )


async def update_badge(
    *, badge_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Badge:
    """Change some of a badge's fields; levels members already hold stay theirs."""
    update = PartialUpdate(changes, changeable=BADGE_CHANGEABLE)
    async with in_transaction() as conn:
        badge = await get_locked_or_not_found(Badge, badge_id, conn=conn)
        async with audited(
            conn, actor=actor, action="badge.update", subject=badge, fields=BADGE_FIELDS, now=now
        ):
            await _check_badge(update.merged(badge, BADGE_FIELDS))
            update.stripped("name").apply(badge)
            await badge.save(using_db=conn)
    return badge
