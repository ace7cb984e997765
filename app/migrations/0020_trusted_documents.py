from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('laurel', '0019_grant_tier')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TrustedManifest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_name', fields.CharField(max_length=64)),
                ('client_version', fields.CharField(max_length=64)),
                ('format', fields.CharField(max_length=40)),
                ('registered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('registered_by', fields.CharField(max_length=200)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'trusted_manifest', 'app': 'laurel', 'unique_together': (('client_name', 'client_version'),), 'pk_attr': 'id', 'table_description': "A client build's manifest of operations, registered by an admin."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrustedDocument',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('manifest', fields.ForeignKeyField('laurel.TrustedManifest', source_field='manifest_id', db_constraint=True, to_field='id', related_name='documents', on_delete=OnDelete.RESTRICT)),
                ('document_id', fields.CharField(db_index=True, max_length=128)),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('operation_name', fields.CharField(max_length=200)),
                ('operation_type', fields.CharField(max_length=16)),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'trusted_document', 'app': 'laurel', 'unique_together': (('manifest', 'document_id'),), 'pk_attr': 'id', 'table_description': 'One operation of a manifest: the exact text the server runs when a client names it.'},
            bases=['Model'],
        ),
    ]
