"""Trusted documents: the operations a server runs when a client names them by id or hash.

Two sources, looked up in this order:

- the client operations of graphql/operations/ (``LAUREL_OPERATIONS_DIR``): every
  ``*.graphql`` file with a named operation, whole (its fragments included), under the
  SHA-256 hex digest of its UTF-8 text, read when the app starts;
- the manifests client teams register (``laurel documents register``, or the
  ``registerTrustedDocuments`` mutation; app/services/documents/manifests.py): each document under
  the id its manifest gives it, and matched by the hash of its text too.

A request names a document with Apollo's persisted-query extension and no query text::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}},
     "operationName": "Members", "variables": {"first": 10}}

or with GraphQL over HTTP's ``documentId`` (``"documentId": "<id>"``, or ``sha256:<hex>``),
and the registry fills the registered text in before strawberry parses it, so the parser
and validation caches see the same string every time. With ``LAUREL_TRUSTED_DOCUMENTS``
on, a request whose text is not registered is refused as well: only these documents run.
With it off, a request carrying a text and its persistedQuery hash teaches this process
that hash (automatic persisted queries), so the next request may send the hash alone.

Lookups of registered manifests are cached per process; the cache is dropped when the
registry's version (app/services/documents/manifests.py) changes, read at most every
``LAUREL_DOCUMENT_REFRESH_SECONDS``. A document registered anywhere is found at once (a
miss asks the database); a revocation elsewhere is obeyed within that delay.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from graphql import OperationDefinitionNode, parse
from strawberry.http import GraphQLRequestData

from app.config import Settings
from app.services.documents import manifests as registered

PERSISTED_QUERY_VERSION = 1
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX_ID = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9_:.~+/=-]{1,128}$")
# Automatic persisted queries (trusted mode off) learnt by one process: a bounded memory.
LEARNT_DOCUMENTS = 1024
LEARNT_CHARACTERS = 8_000_000


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_id(document_id: str) -> str:
    """Hex digests compare in lower case, whatever case a tool or a client writes them in."""
    return document_id.lower() if _HEX_ID.match(document_id) else document_id


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    sha256: str
    text: str
    operation_names: tuple[str, ...]


class DocumentRefused(Exception):
    """A request the registry will not run: a GraphQL error with this code, HTTP 400."""

    status_code = 400

    def __init__(self, code: str, message: str, *, operation_name: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.operation_name = operation_name

    def response_body(self) -> dict[str, Any]:
        return {
            "data": None,
            "errors": [{"message": self.message, "extensions": {"code": self.code}}],
        }


class LearntDocuments:
    """Texts learnt from requests (automatic persisted queries), least recently used out."""

    def __init__(self, *, max_documents: int, max_characters: int) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._characters = 0
        self.max_documents = max_documents
        self.max_characters = max_characters

    def get(self, sha256: str) -> str | None:
        text = self._texts.get(sha256)
        if text is not None:
            self._texts.move_to_end(sha256)
        return text

    def put(self, sha256: str, text: str) -> None:
        if sha256 in self._texts or len(text) > self.max_characters:
            return
        self._texts[sha256] = text
        self._characters += len(text)
        while len(self._texts) > self.max_documents or self._characters > self.max_characters:
            _, dropped = self._texts.popitem(last=False)
            self._characters -= len(dropped)


class RegisteredCache:
    """The registered manifests' documents this process has looked up, by id and by text
    hash, valid while the registry's version holds."""

    def __init__(self, *, refresh_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self._by_id: dict[str, registered.StoredDocument] = {}
        self._by_sha256: dict[str, registered.StoredDocument] = {}
        self._version: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    def forget(self) -> None:
        """Drop everything: this process changed the registry (the next hit re-reads)."""
        self._by_id.clear()
        self._by_sha256.clear()
        self._version = None
        self._checked_at = float("-inf")

    async def _current(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.refresh_seconds:
            return
        version = await registered.registry_version()
        if version != self._version:
            self._by_id.clear()
            self._by_sha256.clear()
            self._version = version
        self._checked_at = now

    async def by_id(self, document_id: str) -> registered.StoredDocument | None:
        if document_id in self._by_id:
            await self._current()  # may drop it: revoked elsewhere
        found = self._by_id.get(document_id)
        if found is None:
            if self._version is None:  # what is cached from now on is at least this recent
                await self._current()
            # A miss asks the database: what was registered anywhere is found at once.
            found = await registered.find_active(document_id=document_id)
            if found is not None:
                self._by_id[document_id] = found
        return found

    async def by_sha256(self, sha256: str) -> registered.StoredDocument | None:
        if sha256 in self._by_sha256:
            await self._current()
        found = self._by_sha256.get(sha256)
        if found is None:
            if self._version is None:
                await self._current()
            found = await registered.find_active(sha256=sha256)
            if found is not None:
                self._by_sha256[sha256] = found
        return found


class DocumentRegistry:
    def __init__(
        self, documents: Iterable[TrustedDocument], *, refresh_seconds: float = 1.0
    ) -> None:
        self._by_hash = {document.sha256: document for document in documents}
        self.registered = RegisteredCache(refresh_seconds=refresh_seconds)
        self.learnt = LearntDocuments(
            max_documents=LEARNT_DOCUMENTS, max_characters=LEARNT_CHARACTERS
        )

    @classmethod
    def load(cls, directory: Path, *, refresh_seconds: float = 1.0) -> DocumentRegistry:
        """Read every ``*.graphql`` file in ``directory`` (none if it does not exist)."""
        documents = []
        for path in sorted(directory.glob("*.graphql")):
            # Bytes, not read_text(): universal newlines would hash a CRLF file as LF.
            text = path.read_bytes().decode("utf-8")
            names = tuple(
                definition.name.value
                for definition in parse(text).definitions
                if isinstance(definition, OperationDefinitionNode) and definition.name
            )
            if names:
                documents.append(TrustedDocument(document_hash(text), text, names))
        return cls(documents, refresh_seconds=refresh_seconds)

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, sha256: str) -> TrustedDocument | None:
        """A document of the operations directory, by the hash of its file."""
        return self._by_hash.get(sha256.lower())

    def manifest(self) -> dict[str, list[str]]:
        """Hash to operation names, for client teams to send hashes instead of text."""
        return {
            sha256: list(document.operation_names)
            for sha256, document in sorted(self._by_hash.items())
        }

    async def text_of(self, document_id: str, *, trusted_only: bool) -> str | None:
        """The text registered under an id or hash: the operations directory's, then what
        this process learnt (trusted mode off), then the registered manifests'."""
        key = normalise_id(document_id)
        hexdigest = key.removeprefix("sha256:")
        if (own := self.get(hexdigest) if _SHA256_HEX.match(hexdigest) else None) is not None:
            return own.text
        if not trusted_only and (learnt := self.learnt.get(hexdigest)) is not None:
            return learnt
        found = await self.registered.by_id(key)
        if found is None and hexdigest != key:
            found = await self.registered.by_id(hexdigest)
        return found.body if found is not None else None

    async def is_trusted(self, text: str) -> bool:
        """Is this text registered, verbatim (its hash, so not a re-printed document)?"""
        sha256 = document_hash(text)
        return self.get(sha256) is not None or await self.registered.by_sha256(sha256) is not None

    async def admit_http(
        self,
        request: AsyncHTTPRequestAdapter,
        data: GraphQLRequestData,
        *,
        trusted_only: bool,
    ) -> GraphQLRequestData:
        """``admit`` for an HTTP request, with the ``documentId`` strawberry does not read."""
        return await self.admit(
            data, trusted_only=trusted_only, document_id=await _document_id_in(request, data)
        )

    async def admit(
        self,
        request: GraphQLRequestData,
        *,
        trusted_only: bool,
        document_id: object = None,
    ) -> GraphQLRequestData:
        """The request with its registered text filled in, or DocumentRefused.

        - a hash (or a ``documentId``) alone: the registered document, or
          PERSISTED_QUERY_NOT_FOUND (in either mode: Apollo clients then send the text
          along with the hash);
        - a hash with text: the hash must be the text's, or the id of that very text
          (BAD_REQUEST otherwise), then the text is judged as below; with ``trusted_only``
          off, this process learns the hash (automatic persisted queries);
        - text: runs as sent; with ``trusted_only``, only if it is registered
          (DOCUMENT_NOT_TRUSTED otherwise).
        """
        name = request.operation_name if isinstance(request.operation_name, str) else None
        requested = _persisted_query_hash(request.extensions, operation_name=name)
        if document_id is not None:
            if requested is not None or request.query:
                raise DocumentRefused(
                    "BAD_REQUEST",
                    "send documentId alone: not with a query or a persistedQuery extension",
                    operation_name=name,
                )
            if not isinstance(document_id, str) or not _DOCUMENT_ID.match(document_id):
                raise DocumentRefused(
                    "BAD_REQUEST",
                    "documentId must be 1 to 128 letters, digits or _:.~+/=-",
                    operation_name=name,
                )
            requested = document_id
        if requested is not None and not request.query:
            text = await self.text_of(requested, trusted_only=trusted_only)
            if text is None:
                raise DocumentRefused(
                    "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", operation_name=name
                )
            return replace(request, query=text)
        if request.query is None or (requested is None and not trusted_only):
            # Nothing to check (and no query at all: strawberry's "No GraphQL query found").
            return request
        if trusted_only and not await self.is_trusted(request.query):
            raise DocumentRefused(
                "DOCUMENT_NOT_TRUSTED",
                "only the registered client operations run here; send one of them "
                "(by persistedQuery hash, documentId or verbatim)",
                operation_name=name,
            )
        sha256 = document_hash(request.query)
        if requested is not None and requested.lower() != sha256:
            if await self.text_of(requested, trusted_only=trusted_only) != request.query:
                raise DocumentRefused(
                    "BAD_REQUEST",
                    "persistedQuery.sha256Hash is not the query's",
                    operation_name=name,
                )
        elif requested is not None and not trusted_only:
            self.learnt.put(sha256, request.query)
        return request


def forget_registered(request: Any) -> None:
    """After a registration or revocation through this app: its process's cache re-reads
    the registry at the next lookup (other processes within the refresh delay)."""
    graphql_app = getattr(request.app.state, "graphql", None)
    registry = getattr(graphql_app, "documents", None)
    if isinstance(registry, DocumentRegistry):
        registry.registered.forget()


async def _document_id_in(request: AsyncHTTPRequestAdapter, data: GraphQLRequestData) -> object:
    """The ``documentId`` of a request without query text or persistedQuery extension
    (strawberry reads neither it nor anything else it does not know); None otherwise."""
    if data.query is not None or (data.extensions or {}).get("persistedQuery") is not None:
        return None
    if request.method == "GET":
        return request.query_params.get("documentId")
    try:
        # Already read and parsed once by strawberry, so it is a JSON object (or a batch).
        body = json.loads(await request.get_body())
    except (ValueError, RecursionError):
        return None
    return body.get("documentId") if isinstance(body, dict) else None


def _persisted_query_hash(
    extensions: Mapping[str, Any] | None, *, operation_name: str | None
) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or persisted.get("version") != PERSISTED_QUERY_VERSION:
        raise DocumentRefused(
            "BAD_REQUEST",
            f"persistedQuery must be {{version: {PERSISTED_QUERY_VERSION}, sha256Hash}}",
            operation_name=operation_name,
        )
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.match(sha256):
        raise DocumentRefused(
            "BAD_REQUEST",
            "persistedQuery.sha256Hash must be 64 hexadecimal digits",
            operation_name=operation_name,
        )
    return sha256


def served_documents(settings: Settings) -> DocumentRegistry:
    """The documents the app serves, read when it starts: operations added to
    graphql/operations/ are served after a restart. In trusted mode a directory with no
    named operation would leave nothing to run: the app refuses to start."""
    documents = DocumentRegistry.load(
        settings.operations_dir, refresh_seconds=settings.document_refresh_seconds
    )
    if settings.trusted_documents and not len(documents):
        raise RuntimeError(
            f"LAUREL_TRUSTED_DOCUMENTS is on but {settings.operations_dir} holds no named "
            "operation: nothing could run (set LAUREL_OPERATIONS_DIR)"
        )
    return documents
