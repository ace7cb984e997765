"""Indexes for time to promotion at 1M members (measured by bench/analytics.py).

- member_joined (id, joined_at): the promoted members' joining times, read index-only in
  id order (a merge join with the window's output instead of a hash of the member table).

Plain CREATE INDEX statements in RunPython, as in 0016: both dialects accept them, and no
table is rebuilt on SQLite. (The window over each member's history reads
tier_change_history of migration 0016.)
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

CREATE = [
    "CREATE INDEX IF NOT EXISTS member_joined ON member (id, joined_at)",
]
DROP = [
    "DROP INDEX IF EXISTS member_joined",
]


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in CREATE:
        await schema_editor.client.execute_script(statement)


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in DROP:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("laurel", "0017_funnel_speed")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
