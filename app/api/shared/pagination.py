"""Relay-style connections: ``edges { cursor node }`` and ``pageInfo``, keyset-paginated.

``hasPreviousPage`` is answered only when a client selects it: a first page (no ``after``)
has nothing before it; a later page has rows before it when the list's first row comes at
or before its cursor, which one more read of the list's first row tells.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from app.api.shared.errors import UserInputError
from app.api.shared.ids import decode_cursor, encode_cursor

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

# Whether edges come before a page: known, or found out by a read when a client asks.
Previous = bool | Callable[[], Awaitable[bool]]


@strawberry.type(description="Where a page of a connection stands in the whole list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more entries follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last edge's cursor: pass it as `after` for the next page; null when "
        "the page is empty."
    )
    start_cursor: str | None = strawberry.field(
        default=None,
        description="The cursor of the page's first edge; null when the page is empty.",
    )
    previous: strawberry.Private[Previous] = False

    @strawberry.field(
        description="True when edges come before this page: never on a first page (no "
        "`after`), and on a later one when the list, as it is now, still has edges up to "
        "its cursor."
    )
    async def has_previous_page(self) -> bool:
        if isinstance(self.previous, bool):
            return self.previous
        return await self.previous()

    @classmethod
    def of(cls, cursors: Sequence[str], *, has_next: bool, previous: Previous) -> PageInfo:
        return cls(
            has_next_page=has_next,
            end_cursor=cursors[-1] if cursors else None,
            start_cursor=cursors[0] if cursors else None,
            previous=previous,
        )


async def first_key(query: QuerySet[Any], field: str = "id") -> int | None:
    """The key of the first row of a list (a queryset without its cursor filter)."""
    row = await query.first()
    return None if row is None else int(getattr(row, field))


def rows_before(
    cursor: int | None, first_key: Callable[[], Awaitable[int | None]], *, descending: bool
) -> Previous:
    """``hasPreviousPage`` of a keyset page that starts after ``cursor`` (the key of the
    row before it): rows come before the page when the list's first row (``first_key``,
    read only if a client asks) is at or before the cursor in the list's order."""
    if cursor is None:
        return False

    async def check() -> bool:
        key = await first_key()
        if key is None:
            return False
        return key >= cursor if descending else key <= cursor

    return check


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
        previous: Previous,
        key: Callable[[Row], int],
        node: Callable[[Row], Node],
    ) -> Connection[Node]:
        edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in rows]
        return cls(
            edges=edges,
            page_info=PageInfo.of([e.cursor for e in edges], has_next=has_next, previous=previous),
        )


def check_page_size(first: int, *, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise UserInputError(f"first must be between 1 and {maximum}", field="first")
    return first


async def keyset_page(
    listed: QuerySet[Any],
    *,
    first: int,
    after: str | None,
    node: Callable[[Any], Node],
    max_page_size: int,
    descending: bool = False,
) -> Connection[Node]:
    """One page of a list of rows ordered by id (ascending, or newest first when
    ``descending``): the rows after the ``after`` cursor, and whether rows come before it."""
    check_page_size(first, maximum=max_page_size)
    listed = listed.order_by("-id" if descending else "id")
    query = listed
    if (cursor := decode_cursor(after)) is not None:
        query = query.filter(id__lt=cursor) if descending else query.filter(id__gt=cursor)
    rows = await query.limit(first + 1)
    return Connection[Node].build(
        rows[:first],
        has_next=len(rows) > first,
        key=lambda row: int(row.id),
        previous=rows_before(cursor, lambda: first_key(listed), descending=descending),
        node=node,
    )
