from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0009_job_runs')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SeasonSwitch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('season', fields.ForeignKeyField('laurel.Season', source_field='season_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('step', fields.CharField(max_length=32)),
                ('cursor', fields.BigIntField(default=0)),
                ('granted', fields.BigIntField(default=0)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'season_switch', 'app': 'laurel', 'unique_together': (('season_id', 'step'),), 'pk_attr': 'id', 'table_description': 'Progress of one step of a season switch over the members, by member id.'},
            bases=['Model'],
        ),
    ]
