"""Seasons as marketers define them: created, changed, archived with their tasks.

Validated, audited, one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import GrowthTask, Season, TaskStatus
from app.services.shared.audit import Actor, audited
from app.services.shared.catalogue import archive_entry, create_entry
from app.services.shared.errors import InvalidInput
from app.services.shared.lookups import get_locked_or_not_found
from app.services.shared.partial_updates import PartialUpdate
from gamification.seasons import check_season

SEASON_FIELDS = ("code", "name", "starts_at", "ends_at", "description", "archived_at")
SEASON_CHANGEABLE = ("code", "name", "starts_at", "ends_at", "description")


async def create_season(
    *,
    code: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    actor: Actor,
    now: datetime,
) -> Season:
    problems = check_season(
        code=code, name=name, starts_at=starts_at, ends_at=ends_at, description=description
    )
    if problems:
        raise InvalidInput(problems)
    values = {
        "code": code,
        "name": name.strip(),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "description": description,
    }
    taken = InvalidInput.single("code", f"{code!r} is already used by another season")
    return await create_entry(
        Season, values, "season.create", SEASON_FIELDS, actor=actor, now=now, taken=taken
    )


async def update_season(
    *, season_id: int, changes: dict[str, Any], actor: Actor, now: datetime
) -> Season:
    """Change some of a season's fields (code, name, startsAt, endsAt, description)."""
    update = PartialUpdate(changes, changeable=SEASON_CHANGEABLE)
    async with in_transaction() as conn:
        season = await get_locked_or_not_found(Season, season_id, conn=conn)
        if season.archived_at is not None:
            raise InvalidInput.single("id", "an archived season cannot be changed")
        async with audited(
            conn, actor=actor, action="season.update", subject=season, fields=SEASON_FIELDS, now=now
        ):
            problems = check_season(**update.merged(season, SEASON_CHANGEABLE))
            if problems:
                raise InvalidInput(problems)
            update.apply(season)
            try:
                await season.save(using_db=conn)
            except IntegrityError:
                raise InvalidInput.single("code", "is already used by another season") from None
    return season


async def archive_season(*, season_id: int, actor: Actor, now: datetime) -> Season:
    """Archive a season and archive its tasks with it; archiving twice changes nothing."""
    return await archive_entry(
        Season,
        season_id,
        "season.archive",
        SEASON_FIELDS,
        actor=actor,
        now=now,
        also=_archive_tasks,
    )


async def _archive_tasks(conn: BaseDBAsyncClient, season: Season) -> None:
    await GrowthTask.filter(season_id=season.id).using_db(conn).update(status=TaskStatus.ARCHIVED)
