"""The programme stamp: one row that every change of the programme's catalogue changes.

Each process keeps the programme (event types, growth tasks, badges, ladder versions and
tiers, seasons, benefits and which tiers and seasons give them) in memory and compares
``programme_stamp.stamp`` with the stamp its copy was read at. Triggers on every catalogue
table set the stamp to a fresh random value in the transaction of the change, so whoever
writes (a marketer's mutation, a ladder publish, a job, raw SQL, another machine) moves
it, and a change that rolls back takes its new stamp with it.

Random, not a counter: test databases are truncated (RESTART IDENTITY) or copied from one
migrated file for every test, and a counter would hand two programmes the same number.

PostgreSQL: one statement-level trigger per table (INSERT, UPDATE, DELETE and TRUNCATE), so
a bulk write moves the stamp once. SQLite has only row-level triggers; a bulk write moves it
once per row, which is the same to a reader.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# The tables the event path reads the programme from (app/services/programme/snapshot.py, and the
# benefits a promotion grants in app/services/benefits/grants.py). Nothing an event writes is
# here: a trigger on such a table would move the stamp on every event.
CATALOGUE = (
    "event_type",
    "growth_task",
    "season",
    "badge",
    "ladder_version",
    "tier",
    "benefit",
    "seasonal_benefit",
    "tier_benefit",
)

# A fresh non-negative 63-bit value. SQLite: random() masked rather than abs(random()),
# which raises on -2**63. PostgreSQL: from gen_random_uuid (strong randomness, untouched by
# a session's setseed), hashed so that no fixed UUID version bits remain.
NEW_STAMP = {
    "sqlite": "(random() & 9223372036854775807)",
    "postgres": (
        "(('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint"
        " & 9223372036854775807)"
    ),
}

CREATE_TABLE = """CREATE TABLE programme_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    stamp BIGINT NOT NULL
)"""


def seed_sql(dialect: str) -> list[str]:
    """The one row, with a fresh stamp (also what the test suite runs after each TRUNCATE
    and on each copy of its migrated SQLite file)."""
    return [
        f"INSERT INTO programme_stamp (id, stamp) VALUES (1, {NEW_STAMP[dialect]}) "
        "ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp"
    ]


def _sqlite_forward() -> list[str]:
    touch = f"UPDATE programme_stamp SET stamp = {NEW_STAMP['sqlite']} WHERE id = 1;"
    return [
        CREATE_TABLE,
        *seed_sql("sqlite"),
        *(
            f"CREATE TRIGGER programme_stamp_{table}_{op.lower()} AFTER {op} ON {table} "
            f"BEGIN {touch} END"
            for table in CATALOGUE
            for op in ("INSERT", "UPDATE", "DELETE")
        ),
    ]


def _sqlite_backward() -> list[str]:
    return [
        *(
            f"DROP TRIGGER IF EXISTS programme_stamp_{table}_{op}"
            for table in CATALOGUE
            for op in ("insert", "update", "delete")
        ),
        "DROP TABLE IF EXISTS programme_stamp",
    ]


def _postgres_forward() -> list[str]:
    return [
        CREATE_TABLE,
        *seed_sql("postgres"),
        f"""CREATE OR REPLACE FUNCTION programme_stamp_touch() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE programme_stamp SET stamp = {NEW_STAMP["postgres"]} WHERE id = 1;
            RETURN NULL;
        END
        $$""",
        *(
            "CREATE TRIGGER programme_stamp_touch "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION programme_stamp_touch()"
            for table in CATALOGUE
        ),
    ]


def _postgres_backward() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS programme_stamp_touch ON {table}" for table in CATALOGUE),
        "DROP FUNCTION IF EXISTS programme_stamp_touch()",
        "DROP TABLE IF EXISTS programme_stamp",
    ]


async def _run(
    schema_editor: BaseSchemaEditor, statements_by_dialect: dict[str, list[str]]
) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect not in statements_by_dialect:
        raise RuntimeError(f"no programme stamp for the {dialect} dialect")
    for statement in statements_by_dialect[dialect]:
        await schema_editor.client.execute_script(statement)


async def forward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, {"sqlite": _sqlite_forward(), "postgres": _postgres_forward()})


async def backward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await _run(schema_editor, {"sqlite": _sqlite_backward(), "postgres": _postgres_backward()})


class Migration(migrations.Migration):
    dependencies = [("laurel", "0020_trusted_documents")]

    operations = [ops.RunPython(forward, backward)]
