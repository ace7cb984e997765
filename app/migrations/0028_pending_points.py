"""Pending points (issue 17): an event type's return window and the points waiting it out."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from app.models.points import PendingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [('laurel', '0027_redemption_cancel_and_coupons')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EventType',
            name='pending_days',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.CreateModel(
            name='PendingPoints',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('event_id', fields.BigIntField(unique=True)),
                ('points', fields.BigIntField()),
                ('reason', fields.CharField(max_length=200)),
                ('release_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=PendingStatus.PENDING, description='values: see the enum in the model module', enum_type=PendingStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('released_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pending_points', 'app': 'laurel', 'indexes': [Index(fields=['status', 'release_at']), Index(fields=['member_id', 'status'])], 'pk_attr': 'id', 'table_description': "Points an event earned that wait out its type's return window before they reach the"},
            bases=['Model'],
        ),
    ]
