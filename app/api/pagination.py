"""Relay-style connections: ``edges { cursor node }`` and ``pageInfo``, keyset-paginated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from app.api.errors import UserInputError
from app.api.ids import encode_cursor

Node = TypeVar("Node")
Row = TypeVar("Row")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo

    @classmethod
    def build(
        cls,
        rows: Sequence[Row],
        *,
        has_next: bool,
        key: Callable[[Row], int],
        node: Callable[[Row], Node],
    ) -> Connection[Node]:
        edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in rows]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


def check_page_size(first: int, *, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise UserInputError(f"first must be between 1 and {maximum}", field="first")
    return first
