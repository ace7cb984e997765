"""Member privacy (issue 16, GDPR): the erasure mark on member, and member exports kept in parts."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from app.models.members import MemberExportStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('laurel', '0024_member_merge')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberExport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('laurel.Member', source_field='member_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(description='values: see the enum in the model module', enum_type=MemberExportStatus, max_length=16)),
                ('requested_by', fields.CharField(max_length=200)),
                ('requested_role', fields.CharField(max_length=16)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('items', fields.BigIntField(default=0)),
                ('size_bytes', fields.BigIntField(default=0)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'member_export', 'app': 'laurel', 'indexes': [Index(fields=['status', 'id']), Index(fields=['member_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A requested copy of everything held about one member (GDPR Art. 15), built by a job.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberExportPart',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('export', fields.ForeignKeyField('laurel.MemberExport', source_field='export_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'member_export_part', 'app': 'laurel', 'unique_together': (('export_id', 'seq'),), 'pk_attr': 'id', 'table_description': 'A piece of the JSON document of an export, the download joins them in seq order.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Member',
            name='erased_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]
