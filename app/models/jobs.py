"""Runs of scheduled jobs: one row per job and slot, so a slot runs once however many
workers fire it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.models.shared.enums import ENUM_DESCRIPTION


class JobRunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobRun(Model):
    """A run of a scheduled job for one slot (its minute, day or date of evaluation)."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=64)
    # What the run is for, e.g. 2026-11-25T10:05 for a minutely job, 2026-11-25 for a daily.
    slot = fields.CharField(max_length=64)
    status = fields.CharEnumField(JobRunStatus, max_length=16, description=ENUM_DESCRIPTION)
    attempts = fields.IntField(default=1)
    started_at = fields.DatetimeField()
    # Moved on while the run works; a run silent for longer than its lease is taken over.
    heartbeat_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    result: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    error = fields.TextField(default="")

    class Meta:
        table = "job_run"
        unique_together = (("name", "slot"),)


class JobTally(Model):
    """Runs of a job by status that were pruned from job_run, so that counts never go down."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16)
    runs = fields.BigIntField(default=0)
    retries = fields.BigIntField(default=0)

    class Meta:
        table = "job_tally"
        unique_together = (("name", "status"),)
