"""The job's Server-Sent Events stream."""

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from composer_realtime import metrics
from composer_realtime.handler import detach_request
from composer_realtime.limits import SLOTS, busy_response
from composer_realtime.sse import Message, event_stream_response
from composer_realtime.streams import relay
from jobs import selectors
from jobs.access import aviewer
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
    job = await _read(selectors.job_get_visible_to, job_id=job_id, viewer=viewer,
                      fields=selectors.STREAM_FIELDS)
    if job is None:
        raise Http404("No such job.")
    cursor = parse_cursor(request)
    if job.is_finished and cursor >= job.last_seq:
        return HttpResponse(status=204)  # nothing more will come: EventSource stops here
    if not SLOTS.acquire(viewer.key):
        return busy_response()
    if "HTTP_LAST_EVENT_ID" in request.META:  # EventSource reconnecting; first loads use ?query
        metrics.STREAMS_RESUMED.inc()
    response = event_stream_response(relay(channel=job.channel, cursor=cursor,
                                           replay=partial(_replay, job.pk)))
    response.on_close(partial(SLOTS.release, viewer.key))
    return detach_request(response)  # the relay reads nothing of the request


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
