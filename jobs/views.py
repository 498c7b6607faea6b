"""HTTP glue for jobs: the progress page, its event stream, the download, cancel."""

import uuid

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from composer_realtime.sse import Message, event_stream_response
from composer_realtime.streams import Replay, relay
from jobs import selectors, services
from jobs.access import arequester, requester
from jobs.models import Job, JobStatus
from jobs.pipeline import STEPS

_MAX_CURSOR = 10**9


def parse_cursor(request: HttpRequest) -> int:
    """Return the client's cursor (Last-Event-ID, then ?last_event_id=); 0 when malformed."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return 0
    return min(int(raw), _MAX_CURSOR)


@require_GET
async def job_events(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Stream the job's events as SSE from the client's cursor until the job ends."""
    try:
        job = await selectors.ajob_get_visible(job_id=job_id,
                                               requester=await arequester(request))
    finally:
        await _release_connection()  # before waiting, whatever the answer
    if job is None:
        raise Http404("No such job.")
    cursor = parse_cursor(request)
    if job.is_finished and cursor >= job.last_seq:
        return HttpResponse(status=204)  # nothing more will come: EventSource stops here
    return event_stream_response(relay(channel=job.channel, cursor=cursor,
                                       replay=_replayer(job.pk)))


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


@require_GET
def job_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Render the job's progress page."""
    job = _visible_or_404(request, job_id)
    current = (job.step or {}).get("index", 0)
    steps = [{"key": key, "label": label, "index": i,
              "state": _step_state(job, i, current)}
             for i, (key, label, _) in enumerate(STEPS, start=1)]
    events = selectors.job_events_after(job_id=job.pk, after=0)
    return render(request, "jobs/job_page.html", {"job": job, "steps": steps, "events": events})


def _step_state(job: Job, index: int, current: int) -> str:
    if job.status == JobStatus.SUCCEEDED or index < current:
        return "done"
    if index == current and not job.is_finished:
        return "active"
    return "pending"


@require_GET
def job_download(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
    """Send the generated project to its owner once the job succeeded."""
    job = _visible_or_404(request, job_id)
    if job.status != JobStatus.SUCCEEDED or not job.artifact:
        raise Http404("This job has no project to download (yet).")
    return FileResponse(job.artifact.open("rb"), as_attachment=True,
                        filename=job.download_name(), content_type="application/zip")


@require_POST
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Ask the job to stop, then go back to its page (a finished job is left as it is)."""
    job = _visible_or_404(request, job_id)
    services.job_request_cancel(job=job)
    return redirect("jobs:page", job_id=job.pk)


def _visible_or_404(request: HttpRequest, job_id: uuid.UUID) -> Job:
    job = selectors.job_get_visible(job_id=job_id, requester=requester(request))
    if job is None:
        raise Http404("No such job.")
    return job
