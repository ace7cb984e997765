from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0021_programme_stamp')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='time_zone',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Member',
            name='locale',
            field=fields.CharField(null=True, max_length=35),
        ),
        ops.AddField(
            model_name='Member',
            name='marketing_opt_out',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Member',
            name='deactivated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='deactivation_reason',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='LeaderboardMember',
            name='member_active',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
