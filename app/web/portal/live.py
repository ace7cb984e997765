"""The portal's live updates: server-sent events telling an open page that the member's
state changed, so it fetches its live part again (htmx's SSE extension listens).

The stream carries no data beyond the kind of change: the page reads the member again
through the API, so what it shows is what the API answers. Events come from the same
broker as the ``memberUpdates`` subscription (the outbox, relayed after commit); a comment
line every ``KEEPALIVE_SECONDS`` keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress

from starlette.responses import Response, StreamingResponse

from app.services.notifications.updates import MemberUpdate, UpdateBroker, UpdateKind
from app.web.shared.pages import MEMBER_PAGES, Page, web_page

KEEPALIVE_SECONDS = 15.0


async def member_events(
    updates: UpdateBroker, member_id: int, *, keepalive: float = KEEPALIVE_SECONDS
) -> AsyncIterator[str]:
    """``event: changed`` for every update of the member (and ``tier_changed`` after it for
    a change of tier), a comment when nothing happens."""
    stream = updates.subscribe(member_id)
    pending: asyncio.Task[MemberUpdate] | None = None
    yield ": connected\n\n"
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(stream))
            done, _ = await asyncio.wait({pending}, timeout=keepalive)
            if not done:
                yield ": keepalive\n\n"
                continue
            update = pending.result()
            pending = None
            yield f"event: changed\ndata: {update.kind.value}\n\n"
            if update.kind is UpdateKind.TIER_CHANGED:
                # The page asks whether it was a promotion, and celebrates one.
                yield f"event: tier_changed\ndata: {update.data.get('to', '')}\n\n"
    finally:
        if pending is not None:
            pending.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        await stream.aclose()  # type: ignore[attr-defined]


@web_page(*MEMBER_PAGES)
async def portal_live(page: Page) -> Response:
    member_id = page.principal.member_id
    assert member_id is not None  # a member principal always names its member
    updates: UpdateBroker = page.request.app.state.running.updates
    return StreamingResponse(
        member_events(updates, member_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
