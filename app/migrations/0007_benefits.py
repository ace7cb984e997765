from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from gamification.benefits import BenefitKind, GrantSource, GrantStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0006_rewards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Benefit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('kind', fields.CharEnumField(description='values: see the enum in the model module', enum_type=BenefitKind, max_length=32)),
                ('value', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'benefit', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'A benefit of the catalogue, with the value its kind carries.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BenefitGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('benefit', fields.ForeignKeyField('laurel.Benefit', source_field='benefit_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharEnumField(description='values: see the enum in the model module', enum_type=GrantSource, max_length=16)),
                ('source_ref', fields.CharField(max_length=64)),
                ('valid_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_to', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=GrantStatus.ACTIVE, description='values: see the enum in the model module', enum_type=GrantStatus, max_length=16)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'benefit_grant', 'app': 'laurel', 'unique_together': (('member_id', 'benefit_id', 'source', 'source_ref'),), 'indexes': [Index(fields=['member_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A benefit a member holds, with its validity window and status.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SeasonalBenefit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('season', fields.ForeignKeyField('laurel.Season', source_field='season_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('benefit', fields.ForeignKeyField('laurel.Benefit', source_field='benefit_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('tier_codes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'seasonal_benefit', 'app': 'laurel', 'unique_together': (('season_id', 'benefit_id'),), 'pk_attr': 'id', 'table_description': 'A benefit a season gives the members of some tiers while it runs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TierBenefit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tier_code', fields.CharField(max_length=32)),
                ('benefit', fields.ForeignKeyField('laurel.Benefit', source_field='benefit_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'tier_benefit', 'app': 'laurel', 'unique_together': (('tier_code', 'benefit_id'),), 'pk_attr': 'id', 'table_description': 'A benefit every member of a tier gets.'},
            bases=['Model'],
        ),
    ]
