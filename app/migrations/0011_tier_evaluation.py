from tortoise import migrations
from tortoise.migrations import operations as ops
from app.models.tiers import EvaluationStep
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0010_season_switch')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TierEvaluation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('evaluation', fields.CharField(unique=True, max_length=10)),
                ('ladder_version', fields.ForeignKeyField('laurel.LadderVersion', source_field='ladder_version_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('next_member_id', fields.BigIntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('demoted', fields.IntField(default=0)),
            ],
            options={'table': 'tier_evaluation', 'app': 'laurel', 'pk_attr': 'id', 'table_description': 'One evaluation of the ladder, by its date: how far it got and when it finished.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TierEvaluationMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('evaluation', fields.CharField(max_length=10)),
                ('step', fields.CharEnumField(description='values: see the enum in the model module', enum_type=EvaluationStep, max_length=8)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('from_tier', fields.ForeignKeyField('laurel.Tier', source_field='from_tier_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('to_tier', fields.ForeignKeyField('laurel.Tier', source_field='to_tier_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('growth', fields.BigIntField()),
                ('retention_threshold', fields.BigIntField()),
                ('batch', fields.CharField(max_length=32)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tier_evaluation_member', 'app': 'laurel', 'unique_together': (('evaluation', 'step', 'member_id'),), 'pk_attr': 'id', 'table_description': 'What one evaluation did to one member: a warning, or a drop of one tier.'},
            bases=['Model'],
        ),
    ]
