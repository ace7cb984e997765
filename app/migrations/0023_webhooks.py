"""Outbound webhooks: endpoints and their deliveries (issue 16)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.models.webhooks import DeliveryStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0022_member_lifecycle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=2048)),
                ('event_types', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret', fields.CharField(max_length=100)),
                ('enabled', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'laurel', 'pk_attr': 'id', 'table_description': "A URL of the brand's systems that is told of the event types it subscribed to."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('endpoint', fields.ForeignKeyField('laurel.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('outbox_id', fields.BigIntField()),
                ('position', fields.SmallIntField()),
                ('event_type', fields.CharField(max_length=64)),
                ('msg_id', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='values: see the enum in the model module', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_try_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_response_code', fields.IntField(null=True)),
                ('last_latency_ms', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'laurel', 'unique_together': (('endpoint', 'outbox_id', 'position'),), 'indexes': [Index(fields=['status', 'next_try_at']), Index(fields=['endpoint_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One event sent (or to send) to one endpoint, with the outcome of its last try.'},
            bases=['Model'],
        ),
    ]
