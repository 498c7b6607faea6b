"""The job's Server-Sent Events stream."""

import uuid

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from composer_realtime import metrics
from composer_realtime.limits import SLOTS, busy_response
from composer_realtime.sse import Message, event_stream_response
from composer_realtime.streams import Replay, relay
from jobs import selectors
from jobs.access import arequester, requester_key
from jobs.wire import parse_seq


def parse_cursor(request: HttpRequest) -> int:
    """Return the client's cursor (Last-Event-ID, then ?last_event_id=); 0 when malformed."""
    return parse_seq(request.headers.get("Last-Event-ID") or
                     request.GET.get("last_event_id") or "")


@require_GET
async def job_events(request: HttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """Stream the job's events as SSE from the client's cursor until the job ends."""
    try:
        requester = await arequester(request)
        job = await selectors.ajob_get_visible(job_id=job_id, requester=requester)
    finally:
        await _release_connection()  # before waiting, whatever the answer
    if job is None:
        raise Http404("No such job.")
    cursor = parse_cursor(request)
    if job.is_finished and cursor >= job.last_seq:
        return HttpResponse(status=204)  # nothing more will come: EventSource stops here
    client = requester_key(requester)
    if not SLOTS.acquire(client):
        return busy_response()
    if "Last-Event-ID" in request.headers:  # EventSource reconnecting; first loads use ?query
        metrics.STREAMS_RESUMED.inc()
    response = event_stream_response(relay(channel=job.channel, cursor=cursor,
                                           replay=_replayer(job.pk)))
    response.on_close(lambda: SLOTS.release(client))
    return response


def _replayer(job_id: uuid.UUID) -> Replay:
    async def replay(after: int) -> list[Message]:
        events = await selectors.ajob_events_after(job_id=job_id, after=after)
        await _release_connection()
        return [event.to_message() for event in events]
    return replay



async def _release_connection() -> None:
    """Hand this request's database connection back before the stream starts waiting."""
    await sync_to_async(_close_connection)()


def _close_connection() -> None:
    # Resolved inside the sync thread: `connection` is per thread and per request context.
    connection.close()
