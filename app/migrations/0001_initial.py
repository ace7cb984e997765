from tortoise import migrations
from tortoise.migrations import operations as ops
from app.models.tiers import LadderVersionStatus, TierChangeReason
from gamification.points import LedgerKind, LedgerSource
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='LadderVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.IntField(unique=True)),
                ('status', fields.CharEnumField(description='DRAFT: draft\nPUBLISHED: published', enum_type=LadderVersionStatus, max_length=16)),
                ('effective_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notes', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ladder_version', 'app': 'laurel', 'indexes': [Index(fields=['status', 'effective_at'])], 'pk_attr': 'id', 'table_description': 'A version of the ladder rules.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tier',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ladder_version', fields.ForeignKeyField('laurel.LadderVersion', source_field='ladder_version_id', db_constraint=True, to_field='id', related_name='tiers', on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('rank', fields.SmallIntField()),
                ('entry_threshold', fields.BigIntField()),
                ('retention_threshold', fields.BigIntField()),
                ('multiplier', fields.DecimalField(max_digits=5, decimal_places=2)),
            ],
            options={'table': 'tier', 'app': 'laurel', 'unique_together': (('ladder_version', 'rank'), ('ladder_version', 'code')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Member',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('external_id', fields.CharField(unique=True, max_length=128)),
                ('display_name', fields.CharField(max_length=80)),
                ('birthday', fields.DateField(null=True)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('tier', fields.ForeignKeyField('laurel.Tier', source_field='tier_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.RESTRICT)),
                ('points_balance', fields.BigIntField(default=0)),
                ('growth', fields.BigIntField(default=0)),
                ('lifetime_points', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'member', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'A member of the programme with running balances.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsLedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('delta', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='EARN: earn\nSPEND: spend\nEXPIRE: expire\nADJUST: adjust', enum_type=LedgerKind, max_length=16)),
                ('reason', fields.CharField(max_length=200)),
                ('source', fields.CharEnumField(description='MANUAL: manual\nDEMO: demo', enum_type=LedgerSource, max_length=32)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('balance_after', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'points_ledger', 'app': 'laurel', 'unique_together': (('source', 'idempotency_key'),), 'indexes': [Index(fields=['member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One change to the points of one member.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TierChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='tier_changes', on_delete=OnDelete.RESTRICT)),
                ('from_tier', fields.ForeignKeyField('laurel.Tier', source_field='from_tier_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('to_tier', fields.ForeignKeyField('laurel.Tier', source_field='to_tier_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='ENROLLMENT: enrollment\nPROMOTION: promotion\nDEMOTION: demotion\nLADDER_CHANGE: ladder_change\nMANUAL: manual', enum_type=TierChangeReason, max_length=16)),
                ('ladder_version', fields.ForeignKeyField('laurel.LadderVersion', source_field='ladder_version_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tier_change', 'app': 'laurel', 'indexes': [Index(fields=['member_id', 'changed_at']), Index(fields=['changed_at'])], 'pk_attr': 'id', 'table_description': 'One move of one member on the ladder, kept for history and analytics.'},
            bases=['Model'],
        ),
    ]
