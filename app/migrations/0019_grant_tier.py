from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0018_promotion_speed')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BenefitGrant',
            name='tier_code',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
