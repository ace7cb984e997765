from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0003_seed_event_types')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EventReversal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('laurel.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='reversals', on_delete=OnDelete.RESTRICT)),
                ('reversal_key', fields.CharField(unique=True, max_length=200)),
                ('amount', fields.DecimalField(max_digits=14, decimal_places=2)),
                ('points', fields.BigIntField()),
                ('growth', fields.BigIntField()),
                ('points_not_recovered', fields.BigIntField(default=0)),
                ('reason', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'event_reversal', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'A return or cancellation of (part of) an event, and what it took back.'},
            bases=['Model'],
        ),
    ]
