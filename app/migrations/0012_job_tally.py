from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0011_tier_evaluation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('status', fields.CharField(max_length=16)),
                ('runs', fields.BigIntField(default=0)),
                ('retries', fields.BigIntField(default=0)),
            ],
            options={'table': 'job_tally', 'app': 'laurel', 'unique_together': (('name', 'status'),), 'pk_attr': 'id', 'table_description': 'Runs of a job by status that were pruned from job_run, so that counts never go down.'},
            bases=['Model'],
        ),
    ]
