"""The job's Server-Sent Events stream."""

import asyncio
import uuid
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from composer_realtime import metrics
from composer_realtime.handler import detach_request
from composer_realtime.hub import Hub, Subscription, get_hub
from composer_realtime.limits import SLOTS, busy_response
from composer_realtime.sse import Message, event_stream_response
from composer_realtime.streams import Head, relay
from jobs import selectors
from jobs.access import aviewer
from jobs.models import job_channel
from jobs.wire import parse_seq


def parse_cursor(request: HttpRequest) -> int:
    """Return the client's cursor (Last-Event-ID, then ?last_event_id=); 0 when malformed."""
    # META, not request.headers: that would build (and keep, per open stream) a header dict.
    return parse_seq(request.META.get("HTTP_LAST_EVENT_ID") or
                     request.GET.get("last_event_id") or "")


@require_GET
async def job_events(request: HttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """Stream the job's events as SSE from the client's cursor until the job ends."""
    viewer = await aviewer(request)
    cursor = parse_cursor(request)
    hub = get_hub()
    # Subscribed before the one read of the database that both checks the request and
    # replays, so that no event falls between the replay and the live ones.
    sub = await hub.subscribe(job_channel(job_id))
    try:
        start = await _read(selectors.job_stream_start, job_id=job_id, viewer=viewer,
                            after=cursor)
        answer = _refusal(start, cursor, viewer.key)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    if answer is not None:
        hub.unsubscribe(sub)
        return answer
    if "HTTP_LAST_EVENT_ID" in request.META:  # EventSource reconnecting; first loads use ?query
        metrics.STREAMS_RESUMED.inc()
    assert start is not None
    head = Head(subscription=sub, backlog=[event.to_message() for event in start.events])
    response = event_stream_response(relay(channel=sub.channel, cursor=cursor,
                                           replay=partial(_replay, job_id), head=head))
    # Django closes the response in a sync thread, and may close one whose stream never
    # started (the client left first): the slot and the subscription go back on the loop.
    loop = asyncio.get_running_loop()
    response.on_close(lambda: _hand_back(loop, hub, sub, viewer.key))
    return detach_request(response)  # the relay reads nothing of the request


def _refusal(job: selectors.StreamStart | None, cursor: int,
             client: str) -> HttpResponseBase | None:
    """Return the answer when no stream is to be served (taking a slot when one is)."""
    if job is None:
        raise Http404("No such job.")
    if job.is_finished and cursor >= job.last_seq:
        return HttpResponse(status=204)  # nothing more will come: EventSource stops here
    if not SLOTS.acquire(client):
        return busy_response()
    return None


def _hand_back(loop: asyncio.AbstractEventLoop, hub: Hub, sub: Subscription,
               client: str) -> None:
    # From Django's sync thread, where the loop's objects are not to be touched. A loop
    # already closed (a sync test client's, a process ending) runs nothing: release here.
    if not loop.is_closed():
        loop.call_soon_threadsafe(_release, hub, sub, client)
        return
    with suppress(RuntimeError):  # waking the closed loop's link fails; it is gone anyway
        hub.unsubscribe(sub)
    SLOTS.release(client)


def _release(hub: Hub, sub: Subscription, client: str) -> None:
    hub.unsubscribe(sub)  # a no-op when the stream already ended and let it go
    SLOTS.release(client)


async def _replay(job_id: uuid.UUID, after: int) -> list[Message]:
    events = await _read(selectors.job_events_tail, job_id=job_id, after=after)
    return [event.to_message() for event in events]


async def _read[T](select: Callable[..., T], **kwargs: Any) -> T:
    """Return what `select` reads, with the connection handed back before the stream waits:
    one trip to the sync thread for both."""
    return await _read_and_close(select, kwargs)


@sync_to_async  # wrapped once, not per call: building the wrapper shows in profiles
def _read_and_close[T](select: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return select(**kwargs)
    finally:
        # Resolved inside the sync thread: `connection` is per thread and per request context.
        connection.close()
