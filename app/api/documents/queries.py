"""Trusted-document queries: the registered client manifests (admins)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.api.documents.types import TrustedManifestType
from app.api.shared.context import Context
from app.api.shared.permissions import roles
from app.auth import Role
from app.services.documents import manifests as documents


@strawberry.type
class DocumentQueries:
    @strawberry.field(
        description="The client manifests registered as trusted documents, newest first (admins).",
        extensions=[roles(Role.ADMIN)],
    )
    async def trusted_manifests(
        self,
        info: Info[Context, None],
        client: Annotated[
            str | None, strawberry.argument(description="Only this client's manifests.")
        ] = None,
        include_revoked: Annotated[
            bool, strawberry.argument(description="Include revoked manifests.")
        ] = False,
    ) -> list[TrustedManifestType]:
        found = await documents.list_manifests(client_name=client, include_revoked=include_revoked)
        return [TrustedManifestType.from_model(m, docs) for m, docs in found]
