"""The job's Server-Sent Events stream."""

import uuid
from functools import partial

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from jobs import selectors
from jobs.access import aviewer
from jobs.cursor import TooManyFields, stream_cursor, too_many_fields
from jobs.models import job_channel
from jobs.stream_reads import read, start_stream
from realtime.api import Message, Opening, no_content, open_stream


@csrf_exempt  # GET and HEAD only (405 for the rest): nothing here changes state
@require_safe
async def job_events(request: HttpRequest, job_id: uuid.UUID) -> HttpResponseBase:
    """Stream the job's events as SSE from the client's cursor until the job ends."""
    try:
        cursor = stream_cursor(request)
    except TooManyFields as error:
        return too_many_fields(error)
    viewer = await aviewer(request)
    return await open_stream(
        request,
        channel=job_channel(job_id),
        client=viewer.key,
        start=partial(_start, selectors.StartAsk(job_id=job_id, viewer=viewer, after=cursor)),
        replay=partial(_replay, job_id),
    )


async def _start(ask: selectors.StartAsk) -> Opening | HttpResponseBase:
    """Check the request and read the backlog, in the one read of the database there is."""
    start = await start_stream(ask)
    if start is None:
        raise Http404("No such job.")
    if start.is_finished and ask.after >= start.last_seq:
        return no_content()  # nothing more will come: EventSource stops here
    # A cursor past the job's end (a client that was told more than there is) counts as
    # caught up: otherwise the final event, below the cursor, would never end the stream.
    return Opening(
        cursor=min(ask.after, start.last_seq),
        backlog=[event.to_message() for event in start.events],
    )


async def _replay(job_id: uuid.UUID, after: int) -> list[Message]:
    events = await read(selectors.job_events_after, job_id=job_id, after=after)
    return [event.to_message() for event in events]
