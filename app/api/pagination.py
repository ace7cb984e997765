"""Relay-style connections: ``edges { cursor node }`` and ``pageInfo``, keyset-paginated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

import strawberry

from app.api.errors import UserInputError
from app.api.ids import encode_cursor

Node = TypeVar("Node")
Row = TypeVar("Row")

# The page arguments of every connection field, described once.
First = Annotated[
    int,
    strawberry.argument(
        description="Page size: from 1 to the server's maximum (LAUREL_MAX_PAGE_SIZE, 100 by "
        "default); outside it, a BAD_USER_INPUT error."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The endCursor of the previous page, to read the next; omit for the first "
        "page. A cursor this field did not return is a BAD_USER_INPUT error."
    ),
]


@strawberry.type(description="Where a page stands in the whole list (Relay connection spec).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more entries follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor: pass it as `after` for the next page; null when "
        "the page is empty."
    )


@strawberry.type(description="One entry of a page, with the cursor that continues after it.")
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Opaque; pass it as `after` to read on from here.")
    node: Node = strawberry.field(description="The entry itself.")


@strawberry.type(
    description="One page of a list (Relay connection spec): `edges` in the field's order, "
    "and `pageInfo` to ask for the next page."
)
class Connection(Generic[Node]):
    edges: list[Edge[Node]] = strawberry.field(description="The page's entries, in order.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and from where.")

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
