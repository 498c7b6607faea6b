"""The JSON API: create a job with the wizard's validation, and list the templates."""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from jobs import services
from jobs.forms import JobParamsForm, error_lists, templates_catalog
from jobs.journey import journey_record
from jobs.models import Job, JourneyKind
from jobs.views.wizard import creator_of
from realtime.api import client_address, metrics

MAX_BODY_BYTES = 32 * 1024
"""A job's parameters fit in far less; anything bigger is a mistake or an attack."""


class BodyError(Exception):
    """The request body is not a JSON object this API can read."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@require_POST
def api_jobs_create(request: HttpRequest) -> JsonResponse:
    """Create a job from a JSON object of parameters: 201 with its URLs, or 400 with errors.

    CSRF protection stays on, as for every POST: a page of this site sends the csrftoken
    cookie's value in the X-CSRFToken header; a script first GETs /api/templates (which sets
    the cookie), then does the same with the session cookie it got. Anonymous callers' jobs
    belong to their session, like the wizard's.
    """
    try:
        payload = read_json_object(request)
    except BodyError as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=exc.status)
    form = JobParamsForm(payload)
    if not form.is_valid():
        return JsonResponse({"errors": error_lists(form.errors)}, status=400)
    creator = creator_of(request)
    try:
        job = services.job_create(owner=creator.user, params=form.cleaned_data,
                                  anon_owner=creator.anon_owner,
                                  admission=services.Admission(address=client_address(request)))
    except services.AdmissionRefused as refused:
        return too_many_jobs(refused)
    journey_record(kind=JourneyKind.SUBMITTED, visitor=creator.visitor(), step="api",
                   template=job.template, job=job)
    urls = job_urls(request, job)
    return JsonResponse(urls, status=201, headers={"Location": urls["page_url"]})


def too_many_jobs(refused: services.AdmissionRefused) -> JsonResponse:
    """Return the 429 answer of a refused job, with Retry-After."""
    metrics.RATE_LIMITED.inc()
    return JsonResponse({"errors": {"__all__": [str(refused)]},
                         "retry_after_s": refused.retry_after_s},
                        status=429, headers={"Retry-After": str(refused.retry_after_s)})


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """Return the body's JSON object; raise BodyError (415, 413 or 400) saying what is wrong."""
    if request.content_type != "application/json":
        raise BodyError(415, "Send the parameters as JSON, with Content-Type: application/json.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        raise BodyError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BodyError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BodyError(400, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise BodyError(400, "The body must be a JSON object of parameters, like "
                             '{"name": "My Coin", "template": "token"}.')
    return payload


def job_urls(request: HttpRequest, job: Job) -> dict[str, str]:
    """Return the job's id and the absolute URLs of its page, stream, status and download."""
    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name, kwargs={"job_id": job.pk}))

    return {"id": str(job.pk), "page_url": url("jobs:page"), "events_url": url("jobs:events"),
            "status_url": url("jobs:status"), "download_url": url("jobs:download")}


@require_GET
@cache_control(private=True, max_age=300)
@ensure_csrf_cookie
def api_templates(request: HttpRequest) -> JsonResponse:
    """List the templates, each with its options, their defaults and their limits.

    Also sets the csrftoken cookie that `POST /api/jobs` needs.
    """
    return JsonResponse({"templates": templates_catalog()})
