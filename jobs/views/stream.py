"""The job's Server-Sent Events stream."""

import asyncio
import uuid
from contextlib import suppress
from functools import partial

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from jobs import selectors
from jobs.access import aviewer
from jobs.models import job_channel
from jobs.views.cursor import TooManyFields, stream_cursor, too_many_fields
from jobs.views.reads import read, start_stream
from realtime.api import (
    SLOTS,
    Head,
    Hub,
    Message,
    Subscription,
    busy_response,
    client_address,
    detach_request,
    event_stream_head,
    event_stream_response,
    get_hub,
    no_content,
    relay,
    stream_resumed,
)


@csrf_exempt  # GET and HEAD only (405 for the rest): nothing here changes state
@require_safe
async def job_events(request: HttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """Stream the job's events as SSE from the client's cursor until the job ends."""
    try:
        cursor = stream_cursor(request)
    except TooManyFields as error:
        return too_many_fields(error)
    viewer = await aviewer(request)
    if request.method == "HEAD":
        return _head(
            await read(
                selectors.job_stream_start, job_id=job_id, viewer=viewer, after=cursor, limit=0
            ),
            cursor,
        )
    hub = get_hub()
    # Subscribed before the one read of the database that both checks the request and
    # replays, so that no event falls between the replay and the live ones.
    sub = await hub.subscribe(job_channel(job_id))
    try:
        start = await start_stream(selectors.StartAsk(job_id=job_id, viewer=viewer, after=cursor))
        client = (viewer.key, client_address(request))  # the slot's (client, address)
        answer = _refusal(start, cursor, client)
    except BaseException:
        hub.unsubscribe(sub)
        raise
    if answer is not None:
        hub.unsubscribe(sub)
        return answer
    if "HTTP_LAST_EVENT_ID" in request.META:  # EventSource reconnecting; first loads use ?query
        stream_resumed()
    assert start is not None
    head = Head(subscription=sub, backlog=[event.to_message() for event in start.events])
    # A cursor past the job's end (a client that was told more than there is) counts as
    # caught up: otherwise the final event, below the cursor, would never end the stream.
    response = event_stream_response(
        relay(
            channel=sub.channel,
            cursor=min(cursor, start.last_seq),
            replay=partial(_replay, job_id),
            head=head,
        )
    )
    # Django closes the response in a sync thread, and may close one whose stream never
    # started (the client left first): the slot and the subscription go back on the loop.
    # A partial, not a closure: one object instead of a function and four cells per stream.
    response.on_close(partial(_hand_back, asyncio.get_running_loop(), hub, sub, client))
    return detach_request(response)  # the relay reads nothing of the request


def _head(start: selectors.StreamStart | None, cursor: int) -> HttpResponseBase:
    """Return what a GET would start with, without a stream: 404, 204 or the headers."""
    if start is None:
        raise Http404("No such job.")
    if start.is_finished and cursor >= start.last_seq:
        return no_content()
    return event_stream_head()


def _refusal(
    start: selectors.StreamStart | None, cursor: int, client: tuple[str, str]
) -> HttpResponseBase | None:
    """Return the answer when no stream is to be served (taking a slot when one is)."""
    if start is None:
        raise Http404("No such job.")
    if start.is_finished and cursor >= start.last_seq:
        return no_content()  # nothing more will come: EventSource stops here
    if not SLOTS.acquire(*client):
        return busy_response()
    return None


def _hand_back(
    loop: asyncio.AbstractEventLoop, hub: Hub, sub: Subscription, client: tuple[str, str]
) -> None:
    # From Django's sync thread, where the loop's objects are not to be touched. A loop
    # already closed (a sync test client's, a process ending) runs nothing: release here.
    if not loop.is_closed():
        loop.call_soon_threadsafe(_release, hub, sub, client)
        return
    with suppress(RuntimeError):  # waking the closed loop's link fails; it is gone anyway
        hub.unsubscribe(sub)
    SLOTS.release(*client)


def _release(hub: Hub, sub: Subscription, client: tuple[str, str]) -> None:
    hub.unsubscribe(sub)  # a no-op when the stream already ended and let it go
    SLOTS.release(*client)


async def _replay(job_id: uuid.UUID, after: int) -> list[Message]:
    events = await read(selectors.job_events_tail, job_id=job_id, after=after)
    return [event.to_message() for event in events]
