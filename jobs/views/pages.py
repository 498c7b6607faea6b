"""HTTP glue for the job page: the page itself, its queue place, the download, cancel.

A job the visitor may not see gets a page that says why (sign in, or open it in the browser
that made it), with a 404 status and the very same words whether the job exists or not.
"""

import json
import uuid
from collections.abc import AsyncIterator
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from jobs import selectors, services
from jobs.access import identity_now
from jobs.failures import Explanation, Failure, explain
from jobs.journey import journey_record_job
from jobs.models import Job, JobStatus, JourneyKind
from jobs.pipeline import STEPS
from jobs.scaffolds import template_label
from jobs.step_times import step_medians
from jobs.timeline import STATUS_STATES, duration_text, timeline_build, vocabulary
from jobs.waiting import QueuePlace, job_queue_place

CHUNK = 64 * 1024
"""Bytes read from the artifact per chunk of the download."""

# A job's page and its project are one person's: no shared cache or disk cache may keep them.
NOT_STORED = cache_control(private=True, no_store=True)


@NOT_STORED
@require_GET
def job_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Render the job's progress page: a timeline the script keeps live (a snapshot without)."""
    who = identity_now(request)
    job = selectors.job_get_visible(job_id=job_id, viewer=who)
    if job is None:
        return not_available(request)
    events = selectors.job_events_after(job_id=job.pk, after=0)
    steps = timeline_build(
        steps=[(key, label) for key, label, _ in STEPS],
        events=events,
        status=job.status,
        usual=step_medians(template=job.template, exclude=job.pk),
    )
    return render(
        request,
        "jobs/job_page.html",
        {
            "job": job,
            "template_label": template_label(job.template),
            "steps": steps,
            "events": events,
            "vocabulary_json": json.dumps(vocabulary()),
            "look": STATUS_STATES[job.status],
            "queue": _queue(job),
            "took": _took(job),
            "explanation": job_explanation(job),
            "owner": selectors.job_is_owner(job=job, viewer=who),
        },
    )


def not_available(request: HttpRequest) -> HttpResponse:
    """Return the page for a job this visitor may not see: 404, and the same for every job
    (it never tells whether the job exists), saying how its owner gets to see it."""
    return render(request, "jobs/not_available.html", {"path": request.path}, status=404)


def job_explanation(job: Job) -> Explanation | None:
    """Return what went wrong with a failed job, in plain words (None unless it failed)."""
    if job.status != JobStatus.FAILED:
        return None
    step = job.step or {}
    return explain(
        Failure(
            error=job.error,
            template=job.template,
            params=job.params,
            step_label=step.get("label", ""),
        )
    )


def _took(job: Job) -> str:
    if not job.is_finished or job.started_at is None or job.finished_at is None:
        return ""
    return duration_text((job.finished_at - job.started_at).total_seconds())


@require_GET
def job_queue(request: HttpRequest, job_id: uuid.UUID) -> JsonResponse:
    """Return a queued job's place in the queue and its expected wait (null once started)."""
    job = _visible_or_404(request, job_id)
    place = _queue(job)
    body: dict[str, Any] = {"status": job.status, "position": None, "wait_s": None}
    if place is not None:
        body.update(position=place.position, wait_s=place.wait_s, workers=place.workers)
    response = JsonResponse(body)
    response["Cache-Control"] = "private, no-store"
    return response


def _queue(job: Job) -> QueuePlace | None:
    if job.status != JobStatus.QUEUED:
        return None
    return job_queue_place(job_id=job.pk, created_at=job.created_at)


class ArtifactResponse(FileResponse):
    """A FileResponse that an ASGI server reads chunk by chunk through a thread.

    FileResponse's iterator is synchronous: under ASGI Django would read the whole file into
    a list and warn on every download. WSGI and the test client still use the sync path.
    """

    block_size = CHUNK

    def __init__(self, artifact: IO[bytes], **kwargs: Any) -> None:
        # Kept apart from `file_to_stream`: whoever sets `streaming_content` (the test client
        # does, to wrap it) clears that one.
        self.artifact = artifact
        super().__init__(artifact, **kwargs)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """Yield the file's bytes, each read off the event loop."""
        read = sync_to_async(self.artifact.read, thread_sensitive=False)
        while chunk := await read(self.block_size):
            yield chunk


@NOT_STORED
@require_GET
def job_download(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
    """Send the generated project to its owner (or staff) once the job succeeded."""
    job = _visible_or_404(request, job_id)
    if job.status != JobStatus.SUCCEEDED or not job.artifact:
        raise Http404("This job has no project to download (yet).")
    journey_record_job(job=job, kind=JourneyKind.DOWNLOADED)
    response = ArtifactResponse(
        job.artifact.open("rb"),
        as_attachment=True,
        filename=job.download_name(),
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Ask the job to stop, then go back to its page (a finished job is left as it is)."""
    job = _visible_or_404(request, job_id)
    if services.job_request_cancel(job=job) is None and job.is_finished:
        messages.info(request, f"Nothing to cancel: this job had already {job.status}.")
    return redirect("jobs:page", job_id=job.pk)


def _visible_or_404(request: HttpRequest, job_id: uuid.UUID) -> Job:
    job = selectors.job_get_visible(job_id=job_id, viewer=identity_now(request))
    if job is None:
        raise Http404("No such job.")
    return job
