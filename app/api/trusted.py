"""Trusted documents: the client operations of graphql/operations/, addressed by hash.

Every ``*.graphql`` file with a named operation is registered, whole (its fragments
included), under the SHA-256 hex digest of its UTF-8 text. A request names a document
with Apollo's persisted-query extension and no query text::

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}},
     "operationName": "Members", "variables": {"first": 10}}

and the registry fills the text in before strawberry parses it, so the parser and
validation caches see the same string every time. With ``LAUREL_TRUSTED_DOCUMENTS`` on,
a request whose text is not registered is refused as well: only these files run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse
from strawberry.http import GraphQLRequestData

PERSISTED_QUERY_VERSION = 1
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


class DocumentRegistry:
    def __init__(self, documents: Iterable[TrustedDocument]) -> None:
        self._by_hash = {document.sha256: document for document in documents}

    @classmethod
    def load(cls, directory: Path) -> DocumentRegistry:
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
        return cls(documents)

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, sha256: str) -> TrustedDocument | None:
        return self._by_hash.get(sha256.lower())

    def manifest(self) -> dict[str, list[str]]:
        """Hash to operation names, for client teams to send hashes instead of text."""
        return {
            sha256: list(document.operation_names)
            for sha256, document in sorted(self._by_hash.items())
        }

    def admit(self, request: GraphQLRequestData, *, trusted_only: bool) -> GraphQLRequestData:
        """The request with its registered text filled in, or DocumentRefused.

        - a hash alone: the registered document, or PERSISTED_QUERY_NOT_FOUND (in either
          mode: Apollo clients then send the text along with the hash);
        - a hash with text: the hash must be the text's (BAD_REQUEST otherwise), then
          the text is judged as below; texts are never registered from requests;
        - text: runs as sent; with ``trusted_only``, only if its hash is registered
          (DOCUMENT_NOT_TRUSTED otherwise).
        """
        name = request.operation_name if isinstance(request.operation_name, str) else None
        requested = _persisted_query_hash(request.extensions, operation_name=name)
        if requested is not None and not request.query:
            document = self.get(requested)
            if document is None:
                raise DocumentRefused(
                    "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", operation_name=name
                )
            return replace(request, query=document.text)
        if request.query is None or (requested is None and not trusted_only):
            # Nothing to check (and no query at all: strawberry's "No GraphQL query found").
            return request
        sha256 = document_hash(request.query)
        if requested is not None and requested.lower() != sha256:
            raise DocumentRefused(
                "BAD_REQUEST", "persistedQuery.sha256Hash is not the query's", operation_name=name
            )
        if trusted_only and self.get(sha256) is None:
            raise DocumentRefused(
                "DOCUMENT_NOT_TRUSTED",
                "only the registered client operations run here; send one of them "
                "(by persistedQuery hash or verbatim)",
                operation_name=name,
            )
        return request


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
