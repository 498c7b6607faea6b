"""CSRF on every POST: without the token each one is refused with 403 and changes nothing;
with it each one goes through; and no view that can change state opts out."""

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from jobs import services
from jobs.models import Job, JobStatus, WizardDraft
from tests.support.wizard import as_post, typed_step

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Csrf Coin", "template": "token"}
Post = tuple[str, str, str]
"""(url, body, content type) of one POST."""


def every_post(job: Job, client: Client) -> dict[str, Post]:
    """Return one valid POST to every endpoint that takes one (walking the wizard as it goes:
    each step is sent with the values that a person would type)."""
    form = "application/x-www-form-urlencoded"

    def step(name: str) -> Post:
        return (
            reverse("jobs:wizard-step", args=[name]),
            urlencode(as_post(typed_step(name))),
            form,
        )

    draft = WizardDraft.objects.filter(job=None).order_by("-updated_at").first()
    return {
        "cancel": (reverse("jobs:cancel", args=[job.pk]), "", form),
        "wizard basics": step("basics"),
        "wizard template": step("template"),
        "wizard options": step("options"),
        "wizard validate": (reverse("jobs:wizard-validate"), "name=Fine+Name&step=basics", form),
        "wizard generate": (
            reverse("jobs:wizard-generate"),
            f"draft={draft.pk if draft else ''}",
            form,
        ),
        "api jobs": (reverse("jobs:api-jobs"), json.dumps(PARAMS), "application/json"),
    }


def signed_in(owner: Any) -> Client:
    """Return a CSRF-checking client of `owner`, holding a csrftoken cookie but no token yet."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    client.get(reverse("jobs:api-templates"))  # hands out the csrftoken cookie
    return client


@pytest.fixture
def queued_job(owner: Any) -> Job:
    return services.job_create(owner=owner, params=PARAMS)


def test_every_post_without_the_token_is_403_and_changes_nothing(
    queued_job: Job, owner: Any
) -> None:
    client = signed_in(owner)
    WizardDraft.objects.create(owner=owner)  # a draft to generate from (a GET makes none)
    answers = {
        name: client.post(url, body, content_type=kind).status_code
        for name, (url, body, kind) in every_post(queued_job, client).items()
    }

    assert answers == dict.fromkeys(answers, 403)
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.QUEUED
    assert Job.objects.count() == 1
    assert WizardDraft.objects.get().data == {}


def test_an_anonymous_post_without_the_token_is_403_too(queued_job: Job) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("jobs:wizard"))
    answers = {
        name: client.post(url, body, content_type=kind).status_code
        for name, (url, body, kind) in every_post(queued_job, client).items()
    }
    assert answers == dict.fromkeys(answers, 403)


def test_every_post_with_the_token_goes_through(queued_job: Job, owner: Any) -> None:
    client = signed_in(owner)
    client.get(reverse("jobs:wizard"))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    answers = {}
    for name in (
        "cancel",
        "wizard basics",
        "wizard template",
        "wizard options",
        "wizard validate",
        "wizard generate",
        "api jobs",
    ):
        url, body, kind = every_post(queued_job, client)[name]  # the draft moves on
        answers[name] = client.post(
            url, body, content_type=kind, headers={"X-CSRFToken": token}
        ).status_code

    assert answers == {
        "cancel": 302,
        "wizard basics": 302,
        "wizard template": 302,
        "wizard options": 302,
        "wizard validate": 200,
        "wizard generate": 302,
        "api jobs": 201,
    }
    queued_job.refresh_from_db()
    assert queued_job.status == JobStatus.CANCELLED
    assert Job.objects.count() == 3  # the wizard's job and the API's


def project_views() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Yield (route, view) for every URL of the project, leaving out Django's admin."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Callable[..., Any]]]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if getattr(pattern, "app_name", "") != "admin":
                    yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route, pattern.callback

    yield from walk(get_resolver().url_patterns, "/")


SAFE_ONLY = {"/api/jobs/<uuid:job_id>/events", "/api/jobs/<uuid:job_id>/status"}
"""The only views exempt from CSRF: they answer GET and HEAD, and 405 to anything else (a
CSRF 403 there told a client the wrong thing)."""


def test_no_view_that_can_change_state_is_csrf_exempt() -> None:
    views = dict(project_views())
    assert len(views) >= 17, sorted(views)
    exempt = {route for route, view in views.items() if getattr(view, "csrf_exempt", False)}
    assert exempt == SAFE_ONLY


@pytest.mark.parametrize("route", sorted(SAFE_ONLY))
def test_the_exempt_views_refuse_every_unsafe_method(route: str) -> None:
    client = Client(enforce_csrf_checks=True)
    path = route.replace("<uuid:job_id>", "00000000-0000-0000-0000-000000000000")
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(path).status_code == 405
