"""Seasons: time-boxed campaigns, and how far the season job has got in each."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Season(Model):
    """A time-boxed campaign with its own tasks."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=100)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    description = fields.TextField(default="")
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "season"


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
