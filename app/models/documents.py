"""Trusted documents registered by client teams: one manifest per client name and version.

A manifest is written once and never edited: a registration inserts it with its documents,
a revocation sets ``revoked_at`` once. Nothing is deleted, so ``max(id)`` and the count of
revoked manifests together change whenever the registry does (the servers' caches compare
them; see app/api/documents/trusted.py).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TrustedManifest(Model):
    """A client build's manifest of operations, registered by an admin."""

    id = fields.BigIntField(primary_key=True)
    client_name = fields.CharField(max_length=64)
    client_version = fields.CharField(max_length=64)
    # "apollo-persisted-query-manifest" or "persisted-documents" (codegen's client preset).
    format = fields.CharField(max_length=40)
    registered_at = fields.DatetimeField()
    registered_by = fields.CharField(max_length=200)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.CharField(max_length=200, null=True)

    documents: fields.ReverseRelation[TrustedDocument]

    class Meta:
        table = "trusted_manifest"
        unique_together = (("client_name", "client_version"),)


class TrustedDocument(Model):
    """One operation of a manifest: the exact text the server runs when a client names it."""

    id = fields.BigIntField(primary_key=True)
    manifest: fields.ForeignKeyRelation[TrustedManifest] = fields.ForeignKeyField(
        "laurel.TrustedManifest", related_name="documents", on_delete=fields.RESTRICT
    )
    # The id the client sends (persistedQuery.sha256Hash or documentId), as in the manifest.
    document_id = fields.CharField(max_length=128, db_index=True)
    # SHA-256 hex of the body: a client sending the text itself is matched by it.
    sha256 = fields.CharField(max_length=64, db_index=True)
    operation_name = fields.CharField(max_length=200)
    operation_type = fields.CharField(max_length=16)
    body = fields.TextField()

    manifest_id: int

    class Meta:
        table = "trusted_document"
        unique_together = (("manifest", "document_id"),)
