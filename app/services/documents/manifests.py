"""Trusted documents of client teams: register a build's manifest, list, revoke, look up.

The API layer parses a manifest and validates every document against the schema (it is
the layer that knows GraphQL); this module stores what it was handed, refuses what would
make a document id ambiguous, and answers the lookups behind the servers' caches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.models import TrustedDocument, TrustedManifest
from app.services.shared.audit import Actor, audited
from app.services.shared.errors import InvalidInput, ServiceError
from app.services.shared.lookups import get_or_not_found
from gamification.shared.problems import Problem

# A client name or version as teams write them: "member-app", "ios", "4.2.0+build.7".
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@/-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ManifestDocument:
    """One operation of a manifest, validated: the id a client sends and the text to run."""

    document_id: str
    operation_name: str
    operation_type: str
    body: str
    sha256: str


@dataclass(frozen=True, slots=True)
class DocumentProblem:
    """Why a document (named by its id and operation, when it has them) cannot be trusted."""

    document_id: str | None
    operation_name: str | None
    message: str


class ManifestRefused(ServiceError):
    """The manifest holds documents that cannot be trusted; none of it was registered."""

    def __init__(self, problems: Sequence[DocumentProblem]) -> None:
        super().__init__(
            f"the manifest was refused: {len(problems)} problem(s); nothing was registered"
        )
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Registration:
    manifest: TrustedManifest
    documents: tuple[TrustedDocument, ...]
    # True when this exact manifest was registered before: nothing was written.
    replayed: bool


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What a server needs to run a registered document."""

    document_id: str
    sha256: str
    body: str


def check_labels(*, client_name: str, client_version: str) -> None:
    """InvalidInput unless the client name and version are usable labels."""
    rule = "1 to 64 letters, digits and . _ + @ / -, starting with a letter or digit"
    problems = [
        Problem(field, rule)
        for field, value in (("client", client_name), ("version", client_version))
        if not _LABEL.match(value)
    ]
    if problems:
        raise InvalidInput(problems)


async def register_manifest(
    *,
    client_name: str,
    client_version: str,
    format: str,
    documents: Sequence[ManifestDocument],
    actor: Actor,
    now: datetime,
) -> Registration:
    """Store a client build's validated documents under its name and version.

    A version's manifest never changes: registering the same documents again is a replay;
    other documents under a registered (or revoked) version are refused. A document id
    that an active manifest of any client holds for another text is refused too: the id
    alone decides what runs.
    """
    check_labels(client_name=client_name, client_version=client_version)
    wanted = {(d.document_id, d.sha256) for d in documents}
    async with in_transaction() as conn:
        existing = await TrustedManifest.get_or_none(
            client_name=client_name, client_version=client_version, using_db=conn
        )
        if existing is not None:
            held = (
                await TrustedDocument.filter(manifest_id=existing.id).order_by("id").using_db(conn)
            )
            if existing.revoked_at is not None:
                raise InvalidInput.single(
                    "version", f"{client_name} {client_version} was revoked: register a new version"
                )
            if {(d.document_id, d.sha256) for d in held} != wanted:
                raise InvalidInput.single(
                    "version",
                    f"{client_name} {client_version} is registered with other documents; a "
                    "version's manifest never changes: register a new version",
                )
            return Registration(existing, tuple(held), replayed=True)
        clashes = await (
            TrustedDocument.filter(
                document_id__in=sorted({d.document_id for d in documents}),
                manifest__revoked_at__isnull=True,
            )
            .using_db(conn)
            .prefetch_related("manifest")
        )
        by_id = {d.document_id: d for d in documents}
        problems = [
            DocumentProblem(
                held.document_id,
                by_id[held.document_id].operation_name,
                f"this id is registered for another text by {held.manifest.client_name} "
                f"{held.manifest.client_version}: ids must name one text (revoke that "
                "version first, or use content hashes as ids)",
            )
            for held in clashes
            if held.sha256 != by_id[held.document_id].sha256
        ]
        if problems:
            raise ManifestRefused(problems)
        async with audited(
            conn, actor=actor, action="register_trusted_documents", now=now
        ) as change:
            try:
                manifest = change.created(
                    await TrustedManifest.create(
                        client_name=client_name,
                        client_version=client_version,
                        format=format,
                        registered_at=now,
                        registered_by=actor.subject,
                        using_db=conn,
                    )
                )
            except IntegrityError:  # registered by a concurrent call since we looked
                raise InvalidInput.single(
                    "version", f"{client_name} {client_version} was just registered: try again"
                ) from None
            await TrustedDocument.bulk_create(
                [
                    TrustedDocument(
                        manifest_id=manifest.id,
                        document_id=d.document_id,
                        sha256=d.sha256,
                        operation_name=d.operation_name,
                        operation_type=d.operation_type,
                        body=d.body,
                    )
                    for d in documents
                ],
                using_db=conn,
            )
            stored = (
                await TrustedDocument.filter(manifest_id=manifest.id).order_by("id").using_db(conn)
            )
            change.after = {
                "client": client_name,
                "version": client_version,
                "format": format,
                "documents": len(stored),
            }
    return Registration(manifest, tuple(stored), replayed=False)


async def revoke_manifest(
    *, client_name: str, client_version: str, actor: Actor, now: datetime
) -> tuple[TrustedManifest, list[TrustedDocument]]:
    """Stop trusting a client build's documents (idempotent: a revoked one is returned)."""
    async with in_transaction() as conn:
        manifest = await get_or_not_found(
            TrustedManifest,
            f"{client_name} {client_version}",
            conn=conn,
            client_name=client_name,
            client_version=client_version,
        )
        documents = (
            await TrustedDocument.filter(manifest_id=manifest.id).order_by("id").using_db(conn)
        )
        if manifest.revoked_at is not None:
            return manifest, documents
        async with audited(
            conn, actor=actor, action="revoke_trusted_documents", subject=manifest, now=now
        ) as change:
            change.before, change.after = {"revoked_at": None}, {"revoked_at": now.isoformat()}
            # Conditional: of two concurrent revocations one writes (and is audited).
            if not (
                await TrustedManifest.filter(id=manifest.id, revoked_at__isnull=True)
                .using_db(conn)
                .update(revoked_at=now, revoked_by=actor.subject)
            ):
                change.unchanged()
        return await TrustedManifest.get(id=manifest.id, using_db=conn), documents


async def list_manifests(
    *, client_name: str | None = None, include_revoked: bool = False
) -> list[tuple[TrustedManifest, list[TrustedDocument]]]:
    """Manifests, newest first, each with its documents in manifest order."""
    query = TrustedManifest.all().order_by("-id")
    if client_name is not None:
        query = query.filter(client_name=client_name)
    if not include_revoked:
        query = query.filter(revoked_at__isnull=True)
    manifests = await query
    documents = await TrustedDocument.filter(manifest_id__in=[m.id for m in manifests]).order_by(
        "id"
    )
    by_manifest: dict[int, list[TrustedDocument]] = {m.id: [] for m in manifests}
    for document in documents:
        by_manifest[document.manifest_id].append(document)
    return [(m, by_manifest[m.id]) for m in manifests]


async def registry_version() -> tuple[int, int]:
    """Changes whenever a manifest is registered or revoked (manifests are only ever
    inserted, and revoked once): one cheap statement for the servers' caches to compare."""
    rows = await TrustedManifest._meta.db.execute_query_dict(
        "SELECT COALESCE(MAX(id), 0) AS last, COUNT(revoked_at) AS revoked FROM trusted_manifest"
    )
    return int(rows[0]["last"]), int(rows[0]["revoked"])


async def find_active(
    *, document_id: str | None = None, sha256: str | None = None
) -> StoredDocument | None:
    """The active registered document with this id (or this text hash), if any."""
    query = TrustedDocument.filter(manifest__revoked_at__isnull=True)
    query = (
        query.filter(document_id=document_id)
        if document_id is not None
        else query.filter(sha256=sha256)
    )
    rows = await query.limit(1).values("document_id", "sha256", "body")
    if not rows:
        return None
    return StoredDocument(rows[0]["document_id"], rows[0]["sha256"], rows[0]["body"])
