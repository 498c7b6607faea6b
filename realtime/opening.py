"""Open a stream for a view: subscribed before the truth is read, one slot held while it is open.

A view says which channel, whose stream it is, how to start (check the request and read what
the client has not seen yet) and how to catch up; `open_stream` does the rest:

1. subscribe to the channel first, so that nothing published falls between the start's read
   and the live messages;
2. run the start: it answers the request itself (404, 204 …) or gives the stream's cursor and
   backlog;
3. take the client's slot (realtime/slots.py), or answer `busy`;
4. return the relay (realtime/relay.py) as the response, with the slot and the subscription
   handed back however it ends (also when Django closes a response whose stream never
   started), and the request let go once the headers are sent.

A HEAD request runs the start only: same status and headers, no stream, nothing subscribed.
"""

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from realtime import metrics
from realtime.address import client_address
from realtime.asgi.handler import detach_request
from realtime.hub import Hub, get_hub
from realtime.message import Message
from realtime.relay import Head, Replay, relay
from realtime.slots import SLOTS
from realtime.sse import CONTENT_TYPE, encode_event, event_stream_head, event_stream_response
from realtime.subscription import Subscription


@dataclass(frozen=True, kw_only=True, slots=True)
class Opening:
    """Where a stream starts: the client's cursor and what the truth holds after it."""

    cursor: int
    """The newest id the client has (0: none)."""
    backlog: list[Message]
    """The channel's messages after `cursor`, in order."""


Start = Callable[[], Awaitable[Opening | HttpResponseBase]]
"""Check the request and read the truth: return the stream's `Opening`, or the answer to give
instead (raising Http404 and the like works too)."""
Slot = tuple[str, str]
"""The (client key, client address) a stream's slot is counted under."""


async def open_stream(
    request: HttpRequest,
    *,
    channel: str,
    client: str,
    start: Start,
    replay: Replay,
    gapless: bool = True,
) -> HttpResponseBase:
    """Return the stream of `channel` for `client` (a user or session key), or the answer
    that replaces it: the start's own, or `busy` when the client, its address or the process
    holds as many streams as it may. `replay` and `gapless` are the relay's."""
    if request.method == "HEAD":
        begun = await start()
        return begun if isinstance(begun, HttpResponseBase) else event_stream_head()
    hub = get_hub()
    sub = await hub.subscribe(channel)
    slot = (client, client_address(request))
    try:
        begun = await start()
        if isinstance(begun, Opening) and not SLOTS.acquire(*slot):
            begun = busy_response()
    except BaseException:
        hub.unsubscribe(sub)
        raise
    if not isinstance(begun, Opening):
        hub.unsubscribe(sub)
        return begun
    if "HTTP_LAST_EVENT_ID" in request.META:  # EventSource reconnecting; first loads use ?query
        metrics.stream_resumed()
    response = event_stream_response(
        relay(
            head=Head(subscription=sub, backlog=begun.backlog),
            cursor=begun.cursor,
            replay=replay,
            gapless=gapless,
        )
    )
    # Django closes the response in a sync thread, and may close one whose stream never
    # started (the client left first): the slot and the subscription go back on the loop.
    # A partial, not a closure: one object instead of a function and four cells per stream.
    response.on_close(partial(_hand_back, asyncio.get_running_loop(), hub, sub, slot))
    return detach_request(response)  # the relay reads nothing of the request


def busy_response(*, error: str = "too_many_streams", retry_s: int | None = None) -> HttpResponse:
    """Return a 200 event stream that asks the client to come back later (after `retry_s`,
    20-40 s by default), saying why (`error`).

    A 503 would stop a browser's EventSource for good; this keeps it retrying, slowly.
    """
    if retry_s is None:
        retry_s = 20 + random.randint(0, 20)  # noqa: S311 - jitter, not security
    body = encode_event(
        event="busy",
        retry_ms=retry_s * 1000,
        data=json.dumps({"error": error, "retry_after_s": retry_s}),
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    return response


def _hand_back(loop: asyncio.AbstractEventLoop, hub: Hub, sub: Subscription, slot: Slot) -> None:
    # From Django's sync thread, where the loop's objects are not to be touched. A loop
    # already closed (a sync test client's, a process ending) runs nothing: release here.
    if not loop.is_closed():
        loop.call_soon_threadsafe(_release, hub, sub, slot)
        return
    with suppress(RuntimeError):  # waking the closed loop's link fails; it is gone anyway
        hub.unsubscribe(sub)
    SLOTS.release(*slot)


def _release(hub: Hub, sub: Subscription, slot: Slot) -> None:
    hub.unsubscribe(sub)  # a no-op when the stream already ended and let it go
    SLOTS.release(*slot)
