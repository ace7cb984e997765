"""Indexes the engagement analytics read by: task funnels by task, seasonal uptake by
season. Not declared on the models (Tortoise would rebuild the SQLite tables to change
their indexes); both dialects accept these statements."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

INDEXES = {
    "task_progress_task_member": "task_progress (task_id, member_id)",
    "task_completion_task_member": "task_completion (task_id, member_id)",
    "benefit_grant_source_ref": "benefit_grant (source, source_ref, benefit_id)",
}


async def create_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for name, columns in INDEXES.items():
        await schema_editor.client.execute_script(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")


async def drop_indexes(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for name in INDEXES:
        await schema_editor.client.execute_script(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("laurel", "0012_job_tally")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
