"""The JSON API: create a job with the wizard's validation, list the templates, cancel a job.

Programs authenticate with `Authorization: Bearer <token>` (api/middleware.py), pages with the
session cookie; under /api/ every error is a JSON object (api/errors.py)."""

import json
import uuid
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from api.errors import error_response
from jobs import selectors, services
from jobs.access import TooManyVisitors, identity_now
from jobs.forms import JobParamsForm, error_lists, templates_catalog
from jobs.journey import journey_record
from jobs.models import Job, JourneyKind
from realtime.api import client_address, request_refused

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

    A program sends `Authorization: Bearer <token>` and the job is the token's user's. With
    the session cookie instead, CSRF protection stays on, as for every POST: a page of this
    site sends the csrftoken cookie's value in the X-CSRFToken header. Anonymous callers' jobs
    belong to their session, like the wizard's.
    """
    try:
        payload = read_json_object(request)
    except BodyError as exc:
        return error_response(
            exc.status, str(exc), BODY_ERRORS[exc.status], errors={"__all__": [str(exc)]}
        )
    form = JobParamsForm(payload)
    if not form.is_valid():
        return error_response(
            400,
            "Some parameters are wrong; `errors` says which.",
            "invalid_params",
            errors=error_lists(form.errors),
        )
    try:
        creator = identity_now(request, create=True)
    except TooManyVisitors as visitors:
        request_refused()
        response = error_response(
            429, str(visitors), "too_many_visitors", errors={"__all__": [str(visitors)]}
        )
        response["Retry-After"] = str(visitors.retry_after_s)
        return response
    try:
        job = services.job_create(
            owner=creator,
            params=form.cleaned_data,
            admission=services.Admission(address=client_address(request)),
        )
    except services.AdmissionRefused as refused:
        return too_many_jobs(refused)
    journey_record(
        kind=JourneyKind.SUBMITTED,
        visitor=creator.visitor,
        step="api",
        template=job.template,
        job=job,
        address=client_address(request),
    )
    urls = job_urls(request, job)
    return JsonResponse(urls, status=201, headers={"Location": urls["page_url"]})


BODY_ERRORS = {400: "invalid_json", 413: "payload_too_large", 415: "unsupported_media_type"}
"""The error code of each way a body can be unreadable."""


def too_many_jobs(refused: services.AdmissionRefused) -> JsonResponse:
    """Return the 429 answer of a refused job, with Retry-After."""
    request_refused()
    return error_response(
        429,
        str(refused),
        "too_many_jobs",
        errors={"__all__": [str(refused)]},
        retry_after_s=refused.retry_after_s,
    )


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
        raise BodyError(
            400,
            "The body must be a JSON object of parameters, like "
            '{"name": "My Coin", "template": "token"}.',
        )
    return payload


def job_urls(request: HttpRequest, job: Job) -> dict[str, str]:
    """Return the job's id and the absolute URLs of its page, stream, status, download and
    cancel (the API's, which take a token as well as the session cookie)."""

    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name, kwargs={"job_id": job.pk}))

    return {
        "id": str(job.pk),
        "page_url": url("jobs:page"),
        "events_url": url("jobs:events"),
        "status_url": url("jobs:status"),
        "download_url": url("jobs:api-download"),
        "cancel_url": url("jobs:api-cancel"),
    }


@require_GET
@cache_control(private=True, max_age=300)
@ensure_csrf_cookie
def api_templates(request: HttpRequest) -> JsonResponse:
    """List the templates, each with its options, their defaults and their limits.

    Also sets the csrftoken cookie that `POST /api/jobs` needs.
    """
    return JsonResponse({"templates": templates_catalog()})


@require_POST
def api_job_cancel(request: HttpRequest, job_id: uuid.UUID) -> JsonResponse:
    """Ask the job to stop: 202 with its status, or 409 when it had already finished."""
    job = selectors.job_get_visible(job_id=job_id, viewer=identity_now(request))
    if job is None:
        raise Http404("No such job.")
    if services.job_request_cancel(job=job) is None and job.is_finished:
        return error_response(
            409,
            f"Nothing to cancel: the job {job.status}.",
            "already_finished",
            id=str(job.pk),
            status=job.status,
        )
    job.refresh_from_db(fields=["status"])
    return JsonResponse({"id": str(job.pk), "status": job.status}, status=202)
