"""How far the season job has got: per season, a cursor over member ids for each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.models.tasks import Season


class SeasonSwitch(Model):
    """Progress of one step of a season switch over the members, by member id.

    The step is grant:ID (granting the seasonal benefit row ID) or expire. Members with an
    id up to the cursor are done. The cursor moves in the transaction of the batch it
    covers, so a crash loses at most an uncommitted batch and a restart resumes after it.
    """

    id = fields.IntField(primary_key=True)
    season: fields.ForeignKeyRelation[Season] = fields.ForeignKeyField(
        "laurel.Season", related_name=False, on_delete=fields.RESTRICT
    )
    step = fields.CharField(max_length=32)
    cursor = fields.BigIntField(default=0)
    granted = fields.BigIntField(default=0)
    # Set when an expiry step has covered every member; grant steps keep following new
    # members while the season runs.
    done_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    season_id: int

    class Meta:
        table = "season_switch"
        unique_together = (("season_id", "step"),)
