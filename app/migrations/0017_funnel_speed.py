"""Indexes the task funnel needs at 1M members (measured by bench/analytics.py).

- task_progress_started (task_id, member_id), partial: only the rows that count as
  started (a count, total, days or completions above 0). The funnel's members who started
  a task are read from it index-only in (task, member) order, and the completers without
  such a row are found by probing it.

Plain CREATE INDEX statements in RunPython, as in 0016: both dialects accept a partial
index, and no table is rebuilt on SQLite.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

CREATE = [
    "CREATE INDEX IF NOT EXISTS task_progress_started ON task_progress (task_id, member_id) "
    "WHERE count > 0 OR total > 0 OR days > 0 OR completions > 0",
]
DROP = [
    "DROP INDEX IF EXISTS task_progress_started",
]


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in CREATE:
        await schema_editor.client.execute_script(statement)


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in DROP:
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [("laurel", "0016_analytics_speed")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
