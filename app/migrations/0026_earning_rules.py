"""Earning rules (issue 17): rules and their versions, what they spent, typed attributes.

The rule tables join the programme's catalogue: triggers move the programme stamp (0021)
whenever a rule or a version is written, in the same transaction, so every process
recompiles its rules on its next event. earning_rule_spend is written by events and has
no trigger (it would move the stamp on every award).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from gamification.rules.engine import GroupPick
from gamification.shared.calendar import Window
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

# As in 0021_programme_stamp (kept here: a migration never changes once released). The
# triggers are named rules_stamp_* so that 0021's own set stays what it declares; on
# PostgreSQL they run 0021's function.
RULE_TABLES = ("earning_rule", "earning_rule_version")
NEW_STAMP = {
    "sqlite": "(random() & 9223372036854775807)",
    "postgres": (
        "(('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint"
        " & 9223372036854775807)"
    ),
}


def _statements(dialect: str, forward: bool) -> list[str]:
    if dialect == "sqlite":
        touch = f"UPDATE programme_stamp SET stamp = {NEW_STAMP['sqlite']} WHERE id = 1;"
        if forward:
            return [
                f"CREATE TRIGGER rules_stamp_{table}_{op.lower()} AFTER {op} ON {table} "
                f"BEGIN {touch} END"
                for table in RULE_TABLES
                for op in ("INSERT", "UPDATE", "DELETE")
            ]
        return [
            f"DROP TRIGGER IF EXISTS rules_stamp_{table}_{op}"
            for table in RULE_TABLES
            for op in ("insert", "update", "delete")
        ]
    if dialect == "postgres":
        if forward:
            return [
                "CREATE TRIGGER rules_stamp_touch "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION programme_stamp_touch()"
                for table in RULE_TABLES
            ]
        return [f"DROP TRIGGER IF EXISTS rules_stamp_touch ON {table}" for table in RULE_TABLES]
    raise RuntimeError(f"no programme stamp for the {dialect} dialect")


async def _stamp_forward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in _statements(schema_editor.client.capabilities.dialect, True):
        await schema_editor.client.execute_script(statement)


async def _stamp_backward(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    for statement in _statements(schema_editor.client.capabilities.dialect, False):
        await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('laurel', '0025_member_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EarningRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'earning_rule', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'An earning rule a marketer wrote, named by a stable code.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarningRuleSpend',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rule_id', fields.IntField()),
                ('member_id', fields.BigIntField()),
                ('period_key', fields.CharField(max_length=32)),
                ('points', fields.BigIntField(default=0)),
                ('awards', fields.BigIntField(default=0)),
                ('first_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'earning_rule_spend', 'app': 'laurel', 'unique_together': (('rule_id', 'member_id', 'period_key'),), 'pk_attr': 'id', 'table_description': 'Points and awards an earning rule gave, per campaign or member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarningRuleVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rule', fields.ForeignKeyField('laurel.EarningRule', source_field='rule_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.RESTRICT)),
                ('number', fields.IntField()),
                ('event_type', fields.CharField(max_length=32)),
                ('condition', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('effect', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('priority', fields.IntField(default=0)),
                ('exclusive_group', fields.CharField(null=True, max_length=32)),
                ('group_pick', fields.CharEnumField(default=GroupPick.BEST, description='values: see the enum in the model module', enum_type=GroupPick, max_length=16)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('campaign_points_cap', fields.BigIntField(null=True)),
                ('campaign_awards_cap', fields.BigIntField(null=True)),
                ('member_points_cap', fields.BigIntField(null=True)),
                ('member_awards_cap', fields.BigIntField(null=True)),
                ('member_cap_period', fields.CharEnumField(default=Window.LIFETIME, description='values: see the enum in the model module', enum_type=Window, max_length=16)),
                ('effective_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'earning_rule_version', 'app': 'laurel', 'unique_together': (('rule_id', 'number'),), 'pk_attr': 'id', 'table_description': 'One version of an earning rule, a new one for every edit.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='EventType',
            name='attribute_schema',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='PointsLedgerEntry',
            name='rule_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='PointsLedgerEntry',
            name='rule_version',
            field=fields.IntField(null=True),
        ),
        ops.RunPython(_stamp_forward, _stamp_backward),
    ]
