"""Redemption rollback (status, deadline, refund) and coupon pools of unique codes (issue 17)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from gamification.rewards import RedemptionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0026_earning_rules')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CouponCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reward', fields.ForeignKeyField('laurel.Reward', source_field='reward_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(max_length=64)),
                ('issued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'coupon_code', 'app': 'laurel', 'unique_together': (('reward_id', 'code'),), 'indexes': [Index(fields=['reward_id', 'issued_at', 'id'])], 'pk_attr': 'id', 'table_description': "One unique code of a reward's coupon pool, handed out by at most one redemption."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Redemption',
            name='cancel_reason',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Redemption',
            name='cancellable_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Redemption',
            name='cancelled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Redemption',
            name='coupon',
            field=fields.OneToOneField('laurel.CouponCode', source_field='coupon_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Redemption',
            name='status',
            field=fields.CharEnumField(default=RedemptionStatus.REDEEMED, db_default='redeemed', description='values: see the enum in the model module', enum_type=RedemptionStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Reward',
            name='cancel_window_hours',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Reward',
            name='coupons_exhausted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Reward',
            name='issues_coupons',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
