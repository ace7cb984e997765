from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0005_audit_and_season_archive')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Reward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('points_cost', fields.BigIntField()),
                ('stock', fields.BigIntField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('min_tier_rank', fields.SmallIntField(null=True)),
                ('max_tier_rank', fields.SmallIntField(null=True)),
                ('active', fields.BooleanField(default=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reward', 'app': 'laurel', 'indexes': [Index(fields=['archived_at', 'active'])], 'pk_attr': 'id', 'table_description': 'A reward members buy with points.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Redemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reward', fields.ForeignKeyField('laurel.Reward', source_field='reward_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('points', fields.BigIntField()),
                ('idempotency_key', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'redemption', 'app': 'laurel', 'unique_together': (('member_id', 'idempotency_key'),), 'indexes': [Index(fields=['member_id', 'id']), Index(fields=['reward_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Points a member spent on a reward, beside the ledger row that took them.'},
            bases=['Model'],
        ),
    ]
