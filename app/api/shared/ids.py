"""Opaque global ids (``Member:42`` in URL-safe base64) and pagination cursors."""

from __future__ import annotations

import base64
import binascii

from app.api.shared.errors import UserInputError
from app.services.shared.errors import InvalidInput

MAX_ID_LENGTH = 200


def encode_id(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("=")


def decode_id(value: str, *, kind: str) -> int | None:
    """The primary key inside a global id of ``kind``, or None when it is not one."""
    if not value or len(value) > MAX_ID_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, pk = raw.partition(":")
    if prefix != kind or not pk.isdigit() or len(pk) > 18:
        return None
    return int(pk)


def require_id(value: str, *, kind: str, argument: str) -> int:
    pk = decode_id(value, kind=kind)
    if pk is None:
        raise UserInputError(f"{argument} is not a valid {kind} id", field=argument)
    return pk


def input_id(value: str, *, kind: str, argument: str) -> int:
    """The primary key inside a mutation's id argument; an ``InvalidInput`` (a
    ``ValidationFailed`` result, through ``typed_failures``) when it is not one of ``kind``."""
    pk = decode_id(value, kind=kind)
    if pk is None:
        raise InvalidInput.single(argument, f"is not a valid {kind} id")
    return pk


def encode_cursor(pk: int) -> str:
    return encode_id("cursor", pk)


def decode_cursor(value: str | None, *, argument: str = "after") -> int | None:
    if value is None:
        return None
    pk = decode_id(value, kind="cursor")
    if pk is None:
        raise UserInputError(f"{argument} is not a cursor this field returned", field=argument)
    return pk
