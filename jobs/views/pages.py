"""HTTP glue for the job page: the page itself, the download, cancel."""

import uuid

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from jobs import selectors, services
from jobs.access import requester
from jobs.journey import journey_record_job
from jobs.models import Job, JobStatus, JourneyKind
from jobs.pipeline import STEPS

# A job's page and its project are one person's: no shared cache or disk cache may keep them.
NOT_STORED = cache_control(private=True, no_store=True)


@NOT_STORED
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


@NOT_STORED
@require_GET
def job_download(request: HttpRequest, job_id: uuid.UUID) -> FileResponse:
    """Send the generated project to its owner once the job succeeded."""
    job = _visible_or_404(request, job_id)
    if job.status != JobStatus.SUCCEEDED or not job.artifact:
        raise Http404("This job has no project to download (yet).")
    journey_record_job(job=job, kind=JourneyKind.DOWNLOADED)
    return FileResponse(job.artifact.open("rb"), as_attachment=True,
                        filename=job.download_name(), content_type="application/zip")


@require_POST
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Ask the job to stop, then go back to its page (a finished job is left as it is)."""
    job = _visible_or_404(request, job_id)
    if services.job_request_cancel(job=job) is None and job.is_finished:
        messages.info(request, f"Nothing to cancel: this job had already {job.status}.")
    return redirect("jobs:page", job_id=job.pk)


def _visible_or_404(request: HttpRequest, job_id: uuid.UUID) -> Job:
    job = selectors.job_get_visible(job_id=job_id, requester=requester(request))
    if job is None:
        raise Http404("No such job.")
    return job
