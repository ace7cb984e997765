from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0004_event_reversal')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(max_length=200)),
                ('actor_role', fields.CharField(max_length=16)),
                ('action', fields.CharField(max_length=64)),
                ('target_type', fields.CharField(max_length=32)),
                ('target_id', fields.CharField(max_length=64)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'audit_entry', 'app': 'laurel', 'indexes': [Index(fields=['target_type', 'target_id']), Index(fields=['action', 'id'])], 'pk_attr': 'id', 'table_description': 'One change made by a marketer or an admin.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Season',
            name='archived_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
