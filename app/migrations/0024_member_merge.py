"""Merging members (issue 16): the member a merged-away member was merged into."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0023_webhooks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='merged_into',
            field=fields.ForeignKeyField('laurel.Member', source_field='merged_into_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT),
        ),
    ]
