"""Seed the event catalogue every programme starts with.

Brands add their own types later; these are the ones the growth tasks of the demo and
most integrations use. Inserting is idempotent (ON CONFLICT on the unique code).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# code, name, base points, points per unit of amount, spend?, referral?
SEED = [
    ("check_in", "Check-in", 5, "0", False, False),
    ("purchase", "Purchase", 0, "1", True, False),
    ("share", "Share", 2, "0", False, False),
    ("referral", "Referral", 100, "0", False, True),
    ("review", "Review", 10, "0", False, False),
    ("profile_completed", "Profile completed", 50, "0", False, False),
]


def seed_sql(dialect: str) -> list[str]:
    true, false = ("TRUE", "FALSE") if dialect == "postgres" else ("1", "0")
    return [
        "INSERT INTO event_type "
        "(code, name, base_points, points_per_unit, counts_as_spend, counts_as_referral, active) "
        f"VALUES ('{code}', '{name}', {base}, {per_unit}, {true if spend else false}, "
        f"{true if referral else false}, {true}) ON CONFLICT (code) DO NOTHING"
        for code, name, base, per_unit, spend, referral in SEED
    ]


async def forward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    client = schema_editor.client
    for statement in seed_sql(client.capabilities.dialect):
        await client.execute_script(statement)


async def backward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    codes = ", ".join(f"'{row[0]}'" for row in SEED)
    await schema_editor.client.execute_script(f"DELETE FROM event_type WHERE code IN ({codes})")


class Migration(migrations.Migration):
    dependencies = [("laurel", "0002_ledger_integrity")]

    operations = [ops.RunPython(forward, backward)]
