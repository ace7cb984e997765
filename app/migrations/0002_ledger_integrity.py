"""Make the points ledger append-only in the database itself.

UPDATE and DELETE are refused, and so is a row with a zero delta.

Balances are audited against the ledger, so a ledger row that could change after the fact
would make every balance unverifiable. A correction is a new row.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

SQLITE_FORWARD = [
    """CREATE TRIGGER points_ledger_delta_not_zero BEFORE INSERT ON points_ledger
    WHEN NEW.delta = 0 BEGIN SELECT RAISE(ABORT, 'points_ledger delta must not be 0'); END""",
    """CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END""",
    """CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
    BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS points_ledger_delta_not_zero",
    "DROP TRIGGER IF EXISTS points_ledger_no_update",
    "DROP TRIGGER IF EXISTS points_ledger_no_delete",
]
POSTGRES_FORWARD = [
    """ALTER TABLE points_ledger
    ADD CONSTRAINT points_ledger_delta_not_zero CHECK (delta <> 0)""",
    """CREATE OR REPLACE FUNCTION points_ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'points_ledger is append-only' USING ERRCODE = 'restrict_violation';
    END
    $$""",
    """CREATE TRIGGER points_ledger_append_only BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only()""",
]
POSTGRES_BACKWARD = [
    "ALTER TABLE points_ledger DROP CONSTRAINT IF EXISTS points_ledger_delta_not_zero",
    "DROP TRIGGER IF EXISTS points_ledger_append_only ON points_ledger",
    "DROP FUNCTION IF EXISTS points_ledger_append_only()",
]


async def _run(
    schema_editor: BaseSchemaEditor, statements_by_dialect: dict[str, list[str]]
) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in statements_by_dialect:
        raise RuntimeError(f"no append-only trigger for the {dialect} dialect")
    for statement in statements_by_dialect[dialect]:
        await schema_editor.client.execute_script(statement)


async def forward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgres": POSTGRES_FORWARD})


async def backward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgres": POSTGRES_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("laurel", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
