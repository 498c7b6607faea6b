"""HTTP glue for trying a failed or cancelled job again: as it was, or with its options edited.

Only the job's owner may (staff see every job, but a new job is its owner's to start), and only
once it failed or was cancelled. Running again goes through the same admission as the wizard
(unfinished-job cap, creation rate); editing opens the wizard with the job's options filled in.
"""

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs import drafts, selectors, services
from jobs.access import identity_now
from jobs.forms import BASICS
from jobs.journey import journey_record
from jobs.models import Job, JobStatus, JourneyKind, JourneySource
from jobs.views.pages import job_explanation
from realtime.api import client_address

AGAIN = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
"""The statuses of a job that may be tried again."""


@require_POST
def job_again(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Start the job again with the same options and show the new one; refused by admission,
    stay on the job's page and say why."""
    job = _owned_or_404(request, job_id)
    creator = identity_now(request, create=True)
    try:
        new = services.job_create(
            owner=creator,
            params=job.params,
            retry_of=job,
            admission=services.Admission(address=client_address(request)),
        )
    except services.AdmissionRefused as refused:
        messages.error(request, f"Not started: {refused}")
        return redirect("jobs:page", job_id=job.pk)
    journey_record(
        kind=JourneyKind.SUBMITTED,
        visitor=creator.visitor,
        step=JourneySource.AGAIN,
        template=new.template,
        job=new,
    )
    return redirect("jobs:page", job_id=new.pk)


@require_POST
def job_edit(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Open the wizard with the job's options filled in, at the option to change if one is
    to blame (else at the options step)."""
    job = _owned_or_404(request, job_id)
    drafts.draft_from_job(creator=identity_now(request, create=True), job=job)
    explanation = job_explanation(job)
    if explanation is not None:
        messages.info(request, f"{explanation.sentence} {explanation.advice}")
    field = explanation.field if explanation is not None else ""
    step = "basics" if field in BASICS else "options"
    url = reverse("jobs:wizard-step", kwargs={"step": step})
    return redirect(f"{url}#id_{field}" if field else url)


def _owned_or_404(request: HttpRequest, job_id: uuid.UUID) -> Job:
    who = identity_now(request)
    job = selectors.job_get_visible(job_id=job_id, viewer=who)
    if job is None or not selectors.job_is_owner(job=job, viewer=who):
        raise Http404("No such job of yours.")
    if job.status not in AGAIN:
        raise Http404("Only a failed or cancelled job can be tried again.")
    return job
