"""Indexes the analytics need at 1M members (measured by bench/analytics.py).

- tier_change_history (member_id, changed_at, id, from_tier_id, to_tier_id, reason): the
  task funnel's tiers at the tasks' starts, seasonal uptake's tiers at the seasons' ends and
  time to promotion take each change with its member's previous one (a window over the
  member's history in time order); read in this order, index-only, it needs no sort of the
  whole history. (Measured first as (member_id, changed_at, id, from_tier_id) for the
  funnel; the tiers and reason were added for time to promotion, one index for both.)

Plain CREATE INDEX statements in RunPython, as in 0014: both dialects accept them, and no
table is rebuilt on SQLite.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

CREATE = [
    "CREATE INDEX IF NOT EXISTS tier_change_history "
    "ON tier_change (member_id, changed_at, id, from_tier_id, to_tier_id, reason)",
]
DROP = [
    "DROP INDEX IF EXISTS tier_change_history",
]


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in CREATE:
        await schema_editor.client.execute_script(statement)


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in DROP:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("laurel", "0015_points_flow_rollup")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
