"""Indexes the analytics queries need at scale (measured by bench/analytics.py).

- points_ledger_flow (created_at, kind, delta): points flow reads a time range of the
  ledger; with the three columns it reads in the key it is an index-only scan of the range
  instead of a scan of the whole ledger per period.
- tier_change_latest (member_id, changed_at DESC, id DESC, to_tier_id): the tier
  distribution takes each member's latest change; read in this order, index-only, it
  needs no sort of the whole history.

Plain CREATE INDEX statements in RunPython, as in 0008: both dialects accept them, and no
table is rebuilt on SQLite.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

CREATE = [
    "CREATE INDEX IF NOT EXISTS points_ledger_flow ON points_ledger (created_at, kind, delta)",
    "CREATE INDEX IF NOT EXISTS tier_change_latest "
    "ON tier_change (member_id, changed_at DESC, id DESC, to_tier_id)",
]
DROP = [
    "DROP INDEX IF EXISTS points_ledger_flow",
    "DROP INDEX IF EXISTS tier_change_latest",
]


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in CREATE:
        await schema_editor.client.execute_script(statement)


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in DROP:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("laurel", "0013_engagement_indexes")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
