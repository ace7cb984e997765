"""Board cursors: opaque, authenticated tokens of a place on one board in one period.

A cursor carries the rank, member and score of the entry it follows, so that the next
page continues after that member where it stands now. Members must not learn other
members' ids from it, so the position is encrypted with AES-GCM under a key derived
(HKDF-SHA256) from the JWT secret, and bound to its board and period as associated data:
a cursor that was altered, made under another secret, or taken from another board or
period does not decrypt, and is refused as a bad ``after``, never a server error.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.api.shared.errors import UserInputError
from app.services.leaderboards.reads import BoardView, Entry

VERSION = b"\x01"
_NONCE_BYTES = 12
_POSITION = struct.Struct(">IQq")  # rank, member id, score
_LENGTH = len(VERSION) + _NONCE_BYTES + _POSITION.size + 16  # + the GCM tag
MAX_CURSOR_LENGTH = 200


@lru_cache(maxsize=8)
def _cipher(secret: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"laurel leaderboard cursor v1"
    ).derive(secret.encode())
    return AESGCM(key)


def _bound_to(board: BoardView) -> bytes:
    return VERSION + f"{board.board_id}:{board.period_key}".encode()


def encode_board_cursor(entry: Entry, *, board: BoardView, secret: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    position = _POSITION.pack(entry.rank, entry.member_id, entry.score)
    sealed = _cipher(secret).encrypt(nonce, position, _bound_to(board))
    return base64.urlsafe_b64encode(VERSION + nonce + sealed).decode().rstrip("=")


def decode_board_cursor(value: str, *, board: BoardView, secret: str) -> tuple[int, int, int]:
    """Rank, member id and score of the entry a cursor of ``board`` follows; a
    ``BAD_USER_INPUT`` error on ``after`` for anything else."""
    refused = UserInputError("after is not a cursor this board's entries returned", field="after")
    if len(value) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    if len(raw) != _LENGTH or raw[:1] != VERSION:
        raise refused
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    try:
        position = _cipher(secret).decrypt(nonce, sealed, _bound_to(board))
    except InvalidTag:
        raise refused from None
    rank, member_id, score = _POSITION.unpack(position)
    if rank < 1:
        raise refused
    return rank, member_id, score
