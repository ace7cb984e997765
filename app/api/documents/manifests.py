"""Reading the manifests client build tools write, and validating their documents.

Two formats, as the tools produce them:

- Apollo's persisted-query manifest (``@apollo/generate-persisted-query-manifest``)::

      {"format": "apollo-persisted-query-manifest", "version": 1,
       "operations": [{"id": "<sha256>", "name": "Members", "type": "query", "body": "..."}]}

- graphql-codegen client preset's ``persisted-documents.json``: ``{"<hash>": "<text>"}``.

Each document must be one named operation (with the fragments it uses) that passes the
schema's validation and the server's limits, exactly as a request would; one bad document
refuses the whole manifest, with every problem named by document id and operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)

from app.api.documents.trusted import document_hash, normalise_id
from app.services.documents.manifests import DocumentProblem, ManifestDocument, ManifestRefused

APOLLO_FORMAT = "apollo-persisted-query-manifest"
CODEGEN_FORMAT = "persisted-documents"
MAX_DOCUMENTS = 5000
# Content hashes (hex, or "sha256:<hex>" as GraphQL over HTTP writes them) and other ids
# tools generate; never whitespace or quotes.
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9_:.~+/=-]{1,128}$")


@dataclass(frozen=True, slots=True)
class Manifest:
    format: str
    documents: tuple[ManifestDocument, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    document_id: object
    name: object
    type: object
    body: object


def read_manifest(data: object, *, schema: GraphQLSchema) -> Manifest:
    """The manifest's documents, validated against ``schema``; ManifestRefused otherwise."""
    format, entries = _entries(data)
    documents: dict[str, ManifestDocument] = {}
    problems: list[DocumentProblem] = []
    for entry in entries:
        found = _document(entry, schema=schema)
        if isinstance(found, DocumentProblem):
            problems.append(found)
            continue
        seen = documents.get(found.document_id)
        if seen is not None and seen.sha256 != found.sha256:
            problems.append(
                DocumentProblem(found.document_id, found.operation_name, "this id names two texts")
            )
        documents[found.document_id] = found
    if problems:
        raise ManifestRefused(problems)
    return Manifest(format, tuple(documents.values()))


def _refused(message: str) -> ManifestRefused:
    return ManifestRefused([DocumentProblem(None, None, message)])


def _entries(data: object) -> tuple[str, list[_Entry]]:
    if not isinstance(data, Mapping):
        raise _refused(
            f'not a manifest: expected an object, {APOLLO_FORMAT} {{"format", "version", '
            '"operations"}, or persisted-documents.json {"<hash>": "<text>"}'
        )
    if "format" in data:
        if data.get("format") != APOLLO_FORMAT or data.get("version") != 1:
            raise _refused(f'"format" must be "{APOLLO_FORMAT}" with "version": 1')
        operations = data.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, Mapping) for o in operations):
            raise _refused('"operations" must be a list of {"id", "name", "type", "body"}')
        entries = [
            _Entry(o.get("id"), o.get("name"), o.get("type"), o.get("body")) for o in operations
        ]
        format = APOLLO_FORMAT
    else:
        entries = [_Entry(key, None, None, body) for key, body in data.items()]
        format = CODEGEN_FORMAT
    if not entries:
        raise _refused("the manifest holds no document")
    if len(entries) > MAX_DOCUMENTS:
        raise _refused(f"at most {MAX_DOCUMENTS} documents per manifest")
    return format, entries


def _document(entry: _Entry, *, schema: GraphQLSchema) -> ManifestDocument | DocumentProblem:
    # The server's own limits, imported here: app.api.schema imports this package's mutations.
    from app.api.schema import LIMIT_RULES, MAX_TOKENS

    name = entry.name if isinstance(entry.name, str) else None
    if not isinstance(entry.document_id, str) or not _DOCUMENT_ID.match(entry.document_id):
        return DocumentProblem(
            None, name, f"id {entry.document_id!r} must be 1 to 128 letters, digits or _:.~+/=-"
        )
    document_id = normalise_id(entry.document_id)
    if not isinstance(entry.body, str) or not entry.body.strip():
        return DocumentProblem(document_id, name, "the body must be the document's text")
    try:
        document = parse(entry.body, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return DocumentProblem(document_id, name, f"does not parse: {error.message}")
    operations = _operations(document)
    if len(operations) != 1 or operations[0].name is None:
        return DocumentProblem(
            document_id,
            name,
            "a document must hold exactly one named operation (and its fragments)",
        )
    operation = operations[0]
    operation_name = operation.name.value if operation.name else ""
    operation_type = operation.operation.value
    if entry.name is not None and entry.name != operation_name:
        return DocumentProblem(
            document_id, name, f"the manifest names it {entry.name!r}, its text {operation_name!r}"
        )
    if entry.type is not None and entry.type != operation_type:
        return DocumentProblem(
            document_id,
            operation_name,
            f"the manifest says {entry.type!r}, its text {operation_type!r}",
        )
    errors = validate(schema, document, [*specified_rules, *LIMIT_RULES])
    if errors:
        return DocumentProblem(
            document_id, operation_name, "; ".join(error.message for error in errors)
        )
    return ManifestDocument(
        document_id=document_id,
        operation_name=operation_name,
        operation_type=operation_type,
        body=entry.body,
        sha256=document_hash(entry.body),
    )


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
