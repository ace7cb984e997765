from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.models.jobs import JobRunStatus
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0008_leaderboards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('slot', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(description='values: see the enum in the model module', enum_type=JobRunStatus, max_length=16)),
                ('attempts', fields.IntField(default=1)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('heartbeat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('result', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'job_run', 'app': 'laurel', 'unique_together': (('name', 'slot'),), 'pk_attr': 'id', 'table_description': 'A run of a scheduled job for one slot (its minute, day or date of evaluation).'},
            bases=['Model'],
        ),
    ]
