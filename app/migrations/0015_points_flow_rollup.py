"""The points flow rollup: ledger rows added up per UTC quarter hour and kind, and how far
they are folded (app/services/points/rollup.py). Two new tables, nothing altered."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from gamification.points.ledger import LedgerKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0014_analytics_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PointsFlowFold',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('folded_until', fields.BigIntField()),
                ('folded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'points_flow_fold', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'How far the points flow rollup is folded: one row, id 1, created by the first fold.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsFlowSlot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='values: see the enum in the model module', enum_type=LedgerKind, max_length=16)),
                ('credited', fields.BigIntField()),
                ('net', fields.BigIntField()),
                ('entries', fields.BigIntField()),
            ],
            options={'table': 'points_flow_rollup', 'app': 'laurel', 'unique_together': (('slot', 'kind'),), 'pk_attr': 'id', 'table_description': 'The ledger rows of one UTC quarter hour and one kind, added up (points flow reads it).'},
            bases=['Model'],
        ),
    ]
