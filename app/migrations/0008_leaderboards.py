from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps
from gamification.leaderboards import Metric, Period
from tortoise.fields.base import OnDelete
from tortoise import fields

# The board order (score high to low, then who reached it first) within one board period
# (scope: metric and period key as one integer), for the SQL reads: top pages by an
# index scan, ranks by index-only range counts. Tortoise cannot declare a descending
# column; both dialects accept this statement.
RANK_INDEX = (
    "CREATE INDEX leaderboard_score_rank ON leaderboard_score "
    "(scope, score DESC, reached_at, reached_seq)"
)


async def create_rank_index(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await schema_editor.client.execute_script(RANK_INDEX)


async def drop_rank_index(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await schema_editor.client.execute_script("DROP INDEX IF EXISTS leaderboard_score_rank")


class Migration(migrations.Migration):
    dependencies = [('laurel', '0007_benefits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Leaderboard',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('metric', fields.CharEnumField(description='values: see the enum in the model module', enum_type=Metric, max_length=32)),
                ('period', fields.CharEnumField(description='values: see the enum in the model module', enum_type=Period, max_length=16)),
                ('season', fields.ForeignKeyField('laurel.Season', source_field='season_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('tier_code', fields.CharField(null=True, max_length=32)),
                ('visible_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('visible_to', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('exclude_flagged', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'A board marketers define: a metric over a period, optionally for a season or tier.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.OneToOneField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('visible', fields.BooleanField(default=True)),
                ('flagged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('flag_reason', fields.CharField(default='', max_length=200)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard_member', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'How a member stands towards public boards: opted out, or flagged by an admin.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardScore',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('metric', fields.CharField(max_length=32)),
                ('period_key', fields.CharField(max_length=40)),
                ('scope', fields.BigIntField()),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('score', fields.BigIntField()),
                ('reached_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reached_seq', fields.BigIntField()),
            ],
            options={'table': 'leaderboard_score', 'app': 'laurel', 'unique_together': (('metric', 'period_key', 'member_id'),), 'pk_attr': 'id', 'table_description': 'The score of a member in one metric over one period (the truth every board reads).'},
            bases=['Model'],
        ),
        ops.RunPython(create_rank_index, drop_rank_index),
    ]
