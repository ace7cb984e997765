"""Indexes the analytics need at 1M members (measured by bench/analytics.py).

- tier_change_moves (member_id, changed_at, id, from_tier_id): the task funnel's tiers at
  the tasks' starts take each move's previous move (a window over the member's history in
  time order); read in this order, index-only, it needs no sort of the whole history.

Plain CREATE INDEX statements in RunPython, as in 0014: both dialects accept them, and no
table is rebuilt on SQLite.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = [
    "CREATE INDEX IF NOT EXISTS tier_change_moves "
    "ON tier_change (member_id, changed_at, id, from_tier_id)",
]
DROP = [
    "DROP INDEX IF EXISTS tier_change_moves",
]


async def create_indexes(apps, schema_editor):
    for statement in CREATE:
        await schema_editor.client.execute_script(statement)


async def drop_indexes(apps, schema_editor):
    for statement in DROP:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("laurel", "0015_points_flow_rollup")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
