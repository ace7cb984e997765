"""Trusted-document types: client manifests, their documents, and the typed refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from app.api.shared.errors import ForbiddenType, NotFoundType, ValidationFailed
from app.api.shared.ids import encode_id
from app.models import TrustedDocument, TrustedManifest
from app.services.documents.manifests import DocumentProblem, ManifestRefused


@strawberry.type(
    name="TrustedDocument",
    description="One operation of a client manifest: the exact text the server runs when a "
    "client sends its id.",
)
class TrustedDocumentType:
    document_id: str = strawberry.field(
        description="The id clients send, as the manifest gives it: persistedQuery.sha256Hash "
        "(64 hexadecimal digits) or documentId."
    )
    sha256: str = strawberry.field(
        description="SHA-256 hex digest of the text: a client sending the text itself is "
        "matched by it."
    )
    operation_name: str = strawberry.field(description="The operation the document defines.")
    operation_type: str = strawberry.field(description="query, mutation or subscription.")
    body: str = strawberry.field(
        description="The registered text, as the client's build tool printed it (with the "
        "__typename selections it adds)."
    )

    @classmethod
    def from_model(cls, document: TrustedDocument) -> TrustedDocumentType:
        return cls(
            document_id=document.document_id,
            sha256=document.sha256,
            operation_name=document.operation_name,
            operation_type=document.operation_type,
            body=document.body,
        )


@strawberry.type(
    name="TrustedManifest",
    description="A client build's manifest of operations, registered under the client's name "
    "and version; its documents run while it is not revoked.",
)
class TrustedManifestType:
    id: strawberry.ID = strawberry.field(
        description="Opaque id of the manifest (one client version)."
    )
    client: str = strawberry.field(description="The client's name, e.g. member-app.")
    version: str = strawberry.field(description="The client build's version, e.g. 4.2.0.")
    format: str = strawberry.field(
        description="apollo-persisted-query-manifest (Apollo's generator) or "
        "persisted-documents (graphql-codegen's client preset)."
    )
    registered_at: datetime = strawberry.field(description="When it was registered, UTC.")
    registered_by: str = strawberry.field(description="The subject of the admin who registered it.")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (null: its documents run)."
    )
    revoked_by: str | None = strawberry.field(
        description="The subject of the admin who revoked it."
    )
    documents: list[TrustedDocumentType] = strawberry.field(
        description="Its documents, in manifest order."
    )

    @classmethod
    def from_model(
        cls, manifest: TrustedManifest, documents: list[TrustedDocument]
    ) -> TrustedManifestType:
        return cls(
            id=strawberry.ID(encode_id("TrustedManifest", manifest.id)),
            client=manifest.client_name,
            version=manifest.client_version,
            format=manifest.format,
            registered_at=manifest.registered_at,
            registered_by=manifest.registered_by,
            revoked_at=manifest.revoked_at,
            revoked_by=manifest.revoked_by,
            documents=[TrustedDocumentType.from_model(d) for d in documents],
        )


@strawberry.type(
    name="DocumentProblem",
    description="Why one document of a manifest cannot be trusted.",
)
class DocumentProblemType:
    document_id: str | None = strawberry.field(
        description="The document's id in the manifest (null: the problem is the manifest's "
        "shape, or the id itself)."
    )
    operation_name: str | None = strawberry.field(
        description="The operation the document names, when it names one."
    )
    message: str = strawberry.field(description="What is wrong, in English, safe to show an admin.")

    @classmethod
    def from_problem(cls, problem: DocumentProblem) -> DocumentProblemType:
        return cls(
            document_id=problem.document_id,
            operation_name=problem.operation_name,
            message=problem.message,
        )


@strawberry.type(
    description="The manifest holds documents that do not parse, do not validate against the "
    "schema or the server's limits, or whose ids name other texts already; nothing was "
    "registered."
)
class TrustedDocumentsRefused:
    message: str = strawberry.field(description="Why the manifest was refused, in one sentence.")
    problems: list[DocumentProblemType] = strawberry.field(
        description="Every problem, naming the document by id and operation."
    )

    @classmethod
    def from_error(cls, error: ManifestRefused) -> TrustedDocumentsRefused:
        return cls(
            message=str(error),
            problems=[DocumentProblemType.from_problem(p) for p in error.problems],
        )


@strawberry.type(description="The manifest is registered: its documents run by id.")
class TrustedDocumentsRegistered:
    manifest: TrustedManifestType = strawberry.field(description="The registered manifest.")
    replayed: bool = strawberry.field(
        description="True when this very manifest was registered before: nothing was written."
    )


@strawberry.type(description="The manifest is revoked: its documents no longer run.")
class TrustedDocumentsRevoked:
    manifest: TrustedManifestType = strawberry.field(
        description="The manifest, with its revocation time and who revoked it."
    )


RegisterTrustedDocumentsResult = Annotated[
    TrustedDocumentsRegistered | TrustedDocumentsRefused | ValidationFailed | ForbiddenType,
    strawberry.union(
        "RegisterTrustedDocumentsResult",
        description="TrustedDocumentsRegistered, or why not: TrustedDocumentsRefused (bad "
        "documents), ValidationFailed (client or version; a version registered with other "
        "documents, or revoked), Forbidden (not an admin).",
    ),
]
RevokeTrustedDocumentsResult = Annotated[
    TrustedDocumentsRevoked | NotFoundType | ForbiddenType,
    strawberry.union(
        "RevokeTrustedDocumentsResult",
        description="TrustedDocumentsRevoked, NotFound (no such client version) or Forbidden "
        "(not an admin).",
    ),
]
