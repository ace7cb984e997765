"""Trusted-document mutations: register and revoke client manifests (admins, audited)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.documents.manifests import read_manifest
from app.api.documents.trusted import forget_registered
from app.api.documents.types import (
    RegisterTrustedDocumentsResult,
    RevokeTrustedDocumentsResult,
    TrustedDocumentsRefused,
    TrustedDocumentsRegistered,
    TrustedDocumentsRevoked,
    TrustedManifestType,
)
from app.api.shared.context import Context
from app.api.shared.permissions import audit_actor, roles
from app.api.shared.results import typed_failures
from app.auth import Role
from app.services.documents import manifests as documents


@strawberry.type
class DocumentMutations:
    @strawberry.mutation(
        description="Register a client build's manifest as trusted documents (admins): Apollo's "
        "persisted-query manifest or graphql-codegen's persisted-documents.json, as the tool "
        "wrote it. Every document is validated against the schema; one bad document refuses "
        "the whole manifest. Registering the same manifest again is a replay. Bodies are "
        "limited to 100 KB: register larger manifests with `laurel documents register`.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def register_trusted_documents(
        self,
        info: Info[Context, None],
        client: Annotated[
            str, strawberry.argument(description="The client's name, e.g. member-app.")
        ],
        version: Annotated[
            str, strawberry.argument(description="The build's version, e.g. 4.2.0.")
        ],
        manifest: Annotated[
            JSON, strawberry.argument(description="The manifest file's JSON, as the tool wrote it.")
        ],
    ) -> RegisterTrustedDocumentsResult:
        actor = audit_actor(info)
        documents.check_labels(client_name=client, client_version=version)
        try:
            parsed = read_manifest(manifest, schema=info.schema._schema)
            registration = await documents.register_manifest(
                client_name=client,
                client_version=version,
                format=parsed.format,
                documents=parsed.documents,
                actor=actor,
                now=info.context.now,
            )
        except documents.ManifestRefused as refused:
            return TrustedDocumentsRefused.from_error(refused)
        forget_registered(info.context.request)
        return TrustedDocumentsRegistered(
            manifest=TrustedManifestType.from_model(
                registration.manifest, list(registration.documents)
            ),
            replayed=registration.replayed,
        )

    @strawberry.mutation(
        description="Revoke a client build's manifest (admins): its documents stop running "
        "(within LAUREL_DOCUMENT_REFRESH_SECONDS on other servers). Revoking again is a no-op.",
        extensions=[roles(Role.ADMIN)],
    )
    @typed_failures
    async def revoke_trusted_documents(
        self,
        info: Info[Context, None],
        client: Annotated[str, strawberry.argument(description="The client's name.")],
        version: Annotated[str, strawberry.argument(description="The build's version.")],
    ) -> RevokeTrustedDocumentsResult:
        actor = audit_actor(info)
        manifest, docs = await documents.revoke_manifest(
            client_name=client, client_version=version, actor=actor, now=info.context.now
        )
        forget_registered(info.context.request)
        return TrustedDocumentsRevoked(manifest=TrustedManifestType.from_model(manifest, docs))
