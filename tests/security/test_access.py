"""Who may see what: every job endpoint answers 404 to anyone but the job's owner (and staff),
and the dashboard with its stream and poll is for staff only."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse

from jobs.access import ANON_OWNER_KEY
from jobs.models import Job, JobStatus
from tests.support.jobs import succeeded_job as run_to_success
from tests.support.ratelimits import clear_rate_limits

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Private Coin", "template": "token"}
JOB_ENDPOINTS = ("page", "events", "status", "download", "cancel")
INTRUDERS = ("stranger", "other user", "other session")
"""A visitor with no session, another signed-in user, another anonymous session (with an
anonymous owner id of its own)."""
OWNER_ANSWERS = {"page": 200, "events": 200, "status": 200, "download": 200, "cancel": 302}


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path) -> None:
    clear_rate_limits()
    settings.JOBS_STEP_PACE_S = 0
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def succeeded_job(*, owner: Any = None, anon_owner: str = "") -> Job:
    """Return a job that ran to success (so that its download exists) for its owner."""
    return run_to_success(owner=owner, anon_owner=anon_owner, params=PARAMS)


def client_as(who: str, *, user: Any = None) -> Client:
    """Return a test client for a signed-in `user`, an anonymous session `who`, or no one."""
    client = Client()
    if user is not None:
        client.force_login(user)
    elif who != "stranger":
        session = client.session
        session[ANON_OWNER_KEY] = who
        session.save()
    return client


def answer(client: Client, endpoint: str, job: Job) -> int:
    """Return the status code of `endpoint` for `job`, asked by `client` (streams read whole)."""
    url = reverse(f"jobs:{endpoint}", args=[job.pk])
    if endpoint == "cancel":
        return client.post(url).status_code
    if endpoint != "events":
        response = client.get(url)
        response.close()  # a download's file
        return response.status_code

    async def stream() -> int:
        async_client = AsyncClient()
        async_client.cookies = client.cookies
        response = await async_client.get(url)
        if response.streaming:
            async with asyncio.timeout(10):
                async for _ in response.streaming_content:
                    pass
        return response.status_code

    return asyncio.run(stream())


def job_of(owned_by: str, owner: Any) -> Job:
    """Return a succeeded job of the user `owner`, or of an anonymous session."""
    if owned_by == "user":
        return succeeded_job(owner=owner)
    return succeeded_job(anon_owner="anon-owner-of-the-job")


@pytest.fixture
def intruder(django_user_model: Any) -> Callable[[str], Client]:
    """Return a factory of clients, one per kind of intruder."""
    other = django_user_model.objects.create_user(username="intruder", password="x")
    return lambda who: client_as(who, user=other if who == "other user" else None)


@pytest.mark.parametrize("who", INTRUDERS)
@pytest.mark.parametrize("owned_by", ["user", "session"])
def test_every_job_endpoint_answers_404_to_anyone_but_the_owner(
    owned_by: str, who: str, owner: Any, intruder: Callable[[str], Client]
) -> None:
    job = job_of(owned_by, owner)
    answers = {endpoint: answer(intruder(who), endpoint, job) for endpoint in JOB_ENDPOINTS}
    assert answers == dict.fromkeys(JOB_ENDPOINTS, 404), "the same answer as a missing job"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.parametrize("owned_by", ["user", "session"])
def test_the_owner_gets_every_endpoint(owned_by: str, owner: Any) -> None:
    job = job_of(owned_by, owner)
    client = client_as("", user=owner) if owned_by == "user" else client_as("anon-owner-of-the-job")
    assert {
        endpoint: answer(client, endpoint, job) for endpoint in JOB_ENDPOINTS
    } == OWNER_ANSWERS  # cancel last: a finished job stays as it is


def test_a_missing_job_answers_404_even_to_staff(staff_user: Any) -> None:
    missing = Job(pk="00000000-0000-4000-8000-000000000000")
    client = client_as("", user=staff_user)
    assert {
        endpoint: answer(client, endpoint, missing) for endpoint in JOB_ENDPOINTS
    } == dict.fromkeys(JOB_ENDPOINTS, 404)


@pytest.mark.parametrize("who", ["stranger", "signed-in user", "anonymous session"])
def test_the_dashboard_its_stream_and_its_poll_refuse_everyone_but_staff(
    who: str, owner: Any
) -> None:
    client = client_as(
        "anon-x" if who == "anonymous session" else "stranger",
        user=owner if who == "signed-in user" else None,
    )
    page = client.get(reverse("dashboard:page"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("dashboard:snapshot")).status_code == 403

    async def stream() -> int:
        async_client = AsyncClient()
        async_client.cookies = client.cookies
        return (await async_client.get(reverse("dashboard:events"))).status_code

    assert asyncio.run(stream()) == 403
