"""The job's status endpoint: the polling fallback of the stream, with the very same events."""

import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from api.errors import error_response
from jobs import selectors
from jobs.access import viewer
from jobs.cursor import TooManyFields, poll_cursor, too_many_fields
from jobs.models import Job, JobStatus
from jobs.polls import FALLBACK_HEADER, etag_of, offers
from jobs.wire import WireEvent, wire_payload
from realtime.api import Verdict, hit, poll_answered, request_refused

MAX_EVENTS = 500
"""Events per answer at most; the client comes straight back for the rest."""
POLL_MS: dict[str, int] = {
    JobStatus.QUEUED: 3000,
    JobStatus.RUNNING: 1000,
    JobStatus.CANCELLING: 1000,
}
"""When to poll again, by stage: a queued job moves slowly, a running one every second."""
CATCH_UP_MS = 1
"""`next_poll_ms` while more events remain (positive, as the contract says, yet at once)."""
_CACHE_CONTROL = "private, no-store"  # the client sends If-None-Match itself (job.js)


@csrf_exempt  # GET and HEAD only (405 for the rest): nothing here changes state
@require_safe
def job_status(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Return the job's snapshot and its events after `since`, 304 when nothing is new."""
    try:
        since = poll_cursor(request.META.get("QUERY_STRING", ""))
    except TooManyFields as error:
        return too_many_fields(error)
    who = viewer(request)
    verdict = hit(scope="poll", key=who.key, limit=settings.REALTIME_POLL_RATE)
    if not verdict.allowed:
        return _too_many(verdict)
    job = selectors.job_get_visible(job_id=job_id, viewer=who, fields=selectors.SNAPSHOT_FIELDS)
    if job is None:
        raise Http404("No such job.")
    tag = etag(job, since)
    unchanged = offers(request.headers.get("If-None-Match", ""), tag)
    poll_answered(
        client=who.key,
        fallback=FALLBACK_HEADER in request.headers,
        not_modified=unchanged,
        shortcut=False,
    )
    if unchanged:
        return _with_validators(HttpResponse(status=304), tag)
    return _with_validators(JsonResponse(status_payload(job, since)), tag)


def etag(job: Job, since: int) -> str:
    """Return the answer's validator: the job's snapshot is fixed by its last seq."""
    return etag_of(job.pk, job.last_seq, since)


def status_payload(job: Job, since: int) -> dict[str, Any]:
    """Return the JSON answer: snapshot, events after `since` (bounded), cursor, next poll."""
    events = _events_upto_snapshot(job, since)
    more = bool(events) and events[-1].seq < job.last_seq
    return {
        "job": snapshot(job),
        "events": [event.as_dict() for event in events],
        "last_seq": job.last_seq,
        "more": more,
        "next_poll_ms": CATCH_UP_MS if more else POLL_MS.get(job.status),
    }


def snapshot(job: Job) -> dict[str, Any]:
    """Return the job as the page shows it (not an event: events go through WireEvent)."""
    succeeded = job.status == JobStatus.SUCCEEDED
    return {
        "id": str(job.pk),
        "name": job.name,
        "template": job.template,
        **wire_payload(job),
        "last_seq": job.last_seq,
        "error": job.error,
        "download_url": reverse("jobs:api-download", args=[job.pk]) if succeeded else None,
    }


def _events_upto_snapshot(job: Job, since: int) -> list[WireEvent]:
    # Events committed after the job row was read are left for the next poll, so that the
    # answer (and its ETag) describes one moment: the snapshot at `job.last_seq`.
    events = selectors.job_events_after(job_id=job.pk, after=since, limit=MAX_EVENTS)
    return [event for event in events if event.seq <= job.last_seq]


def _with_validators(response: HttpResponse, tag: str) -> HttpResponse:
    response["ETag"] = tag
    response["Cache-Control"] = _CACHE_CONTROL
    return response


def _too_many(verdict: Verdict) -> HttpResponse:
    request_refused()
    wait = verdict.retry_after_s
    return error_response(429, f"Too many polls: retry after {wait} s.", retry_after_s=wait)
