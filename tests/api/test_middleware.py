"""Bearer tokens on every /api/ endpoint: the token's user, the same ownership rules, no CSRF
token needed, and a bad token is a 401 even when a valid session cookie comes along."""

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from api import selectors, services
from api.middleware import bearer_of
from jobs import services as job_services
from jobs.access import viewer
from jobs.models import Job, JobStatus
from tests.api.conftest import bearer
from tests.support.jobs import succeeded_job
from tests.support.ratelimits import clear_rate_limits

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Token Coin", "template": "token"}


def create(client: Client, secret: str, params: dict[str, Any] = PARAMS) -> Any:
    return client.post(
        reverse("jobs:api-jobs"),
        json.dumps(params),
        content_type="application/json",
        headers=bearer(secret),
    )


def test_a_token_creates_a_job_of_its_user_without_any_csrf_token(
    csrf_client, owner, token_of
) -> None:
    response = create(csrf_client, token_of(owner))

    assert response.status_code == 201, response.content
    assert Job.objects.get().owner == owner
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # no session is made


def test_the_session_cookie_still_needs_its_csrf_token(csrf_client, owner) -> None:
    csrf_client.force_login(owner)
    response = csrf_client.post(
        reverse("jobs:api-jobs"), json.dumps(PARAMS), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "state", ["revoked", "expired", "inactive user", "unknown", "junk", "empty"]
)
def test_a_bad_token_is_401_with_a_challenge_and_never_falls_back_to_the_cookie(
    csrf_client, owner, token_of, state
) -> None:
    made_up = {"unknown": "crt_" + "A" * 43, "junk": "hunter2", "empty": ""}
    secret = (
        made_up[state]
        if state in made_up
        else token_of(
            owner, expires_at=timezone.now() - timedelta(seconds=1) if state == "expired" else None
        )
    )
    if state == "revoked":
        services.token_revoke(token=selectors.token_find(raw=secret))
    if state == "inactive user":
        owner.is_active = False
        owner.save()
    session = Client()
    session.force_login(owner)
    csrf_client.cookies = session.cookies  # a valid session comes along
    job = job_services.job_create(owner=owner, params=PARAMS)

    answers = [
        create(csrf_client, secret),
        csrf_client.get(reverse("jobs:status", args=[job.pk]), headers=bearer(secret)),
    ]

    for response in answers:
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token" and response.json()["detail"]
        assert response["WWW-Authenticate"].startswith('Bearer realm="composer", error=')
    assert Job.objects.count() == 1


def test_a_revoked_token_stops_at_the_next_request(client, owner, token_of) -> None:
    secret = token_of(owner)
    job = job_services.job_create(owner=owner, params=PARAMS)
    url = reverse("jobs:status", args=[job.pk])
    assert client.get(url, headers=bearer(secret)).status_code == 200

    services.token_revoke(token=selectors.token_find(raw=secret))

    assert client.get(url, headers=bearer(secret)).status_code == 401


def test_strangers_tokens_get_404_on_every_endpoint_and_the_owners_get_through(
    client, owner, django_user_model, token_of
) -> None:
    job = succeeded_job(owner=owner)
    stranger = token_of(django_user_model.objects.create_user(username="x", password="pw-1"))
    mine = token_of(owner)
    gets = ["jobs:status", "jobs:api-download"]  # the stream: in the async test below

    for name in gets:
        url = reverse(name, args=[job.pk])
        assert client.get(url, headers=bearer(stranger)).status_code == 404, name
        response = client.get(url, headers=bearer(mine))
        assert response.status_code == 200, name
        if response.streaming:
            assert b"".join(response.streaming_content).startswith(b"PK")  # the zip, read
    cancel = reverse("jobs:api-cancel", args=[job.pk])
    assert client.post(cancel, headers=bearer(stranger)).status_code == 404
    assert client.post(cancel, headers=bearer(mine)).status_code == 409  # it had finished


def test_staff_tokens_see_every_job(client, owner, staff_user, token_of) -> None:
    job = job_services.job_create(owner=owner, params=PARAMS)
    response = client.get(
        reverse("jobs:status", args=[job.pk]), headers=bearer(token_of(staff_user))
    )
    assert response.status_code == 200


def test_cancel_over_the_api_answers_202_with_the_status(csrf_client, owner, token_of) -> None:
    job = job_services.job_create(owner=owner, params=PARAMS)
    response = csrf_client.post(
        reverse("jobs:api-cancel", args=[job.pk]), headers=bearer(token_of(owner))
    )
    assert response.status_code == 202
    assert response.json() == {"id": str(job.pk), "status": JobStatus.CANCELLED}


def test_a_token_is_read_under_api_only_and_other_schemes_are_left_alone(
    client, owner, token_of
) -> None:
    job = succeeded_job(owner=owner)
    secret = token_of(owner)
    assert (
        client.get(reverse("jobs:page", args=[job.pk]), headers=bearer(secret)).status_code == 404
    )  # pages: the session only
    assert client.get("/admin/", headers=bearer(secret)).status_code == 302  # to the login
    status = reverse("jobs:status", args=[job.pk])
    assert client.get(status, headers={"Authorization": "Basic b3duZXI6eA=="}).status_code == 404


def test_a_tokens_user_counts_under_the_same_key_as_their_session(
    owner, token_of, settings
) -> None:
    settings.REALTIME_POLL_RATE = 3
    clear_rate_limits()
    job = job_services.job_create(owner=owner, params=PARAMS)
    url = reverse("jobs:status", args=[job.pk])
    session = Client()
    session.force_login(owner)
    secret = token_of(owner)
    tokens = Client()

    codes = [
        session.get(url).status_code,
        tokens.get(url, headers=bearer(secret)).status_code,
        session.get(url).status_code,
        tokens.get(url, headers=bearer(secret)).status_code,
    ]

    assert codes == [200, 200, 200, 429]  # one limit for the person, however they ask
    clear_rate_limits()


@pytest.mark.django_db(transaction=True)
def test_the_async_chain_authenticates_the_stream_and_the_poll(
    owner, django_user_model, token_of
) -> None:
    job = succeeded_job(owner=owner)
    secret = token_of(owner)
    stranger = token_of(django_user_model.objects.create_user(username="x", password="pw-1"))
    status, events = reverse("jobs:status", args=[job.pk]), reverse("jobs:events", args=[job.pk])

    async def ask() -> list[Any]:
        client = AsyncClient()
        at_end = {"Last-Event-ID": str(job.last_seq)}
        try:
            return [
                await client.get(status, headers=bearer(secret)),
                await client.get(events, headers={**bearer(secret), **at_end}),
                await client.get(events, headers={**bearer(stranger), **at_end}),
                await client.get(events, headers=bearer("crt_" + "B" * 43)),
            ]
        finally:  # the test client keeps the sync thread's connection (Django would close it)
            await sync_to_async(connections.close_all)()

    mine, stream, strangers, unknown = asyncio.run(ask())

    assert mine.status_code == 200 and mine.json()["job"]["status"] == "succeeded"
    assert stream.status_code == 204  # finished, and the cursor is at its end
    assert strangers.status_code == 404 and strangers.json()["error"] == "not_found"
    assert unknown.status_code == 401


def test_finding_a_token_is_one_query_and_junk_costs_none(
    owner, token_of, django_assert_num_queries
) -> None:
    secret = token_of(owner)
    with django_assert_num_queries(1):
        found = selectors.token_find(raw=secret)
        assert found is not None and found.user.username == owner.username  # joined
    with django_assert_num_queries(0):
        assert selectors.token_find(raw="not-a-token") is None


def test_bearer_of_reads_the_header_under_api_only(rf) -> None:
    assert bearer_of(rf.get("/api/templates", headers={"Authorization": "Bearer x"})) == "x"
    assert bearer_of(rf.get("/api/templates", headers={"Authorization": "bearer  y "})) == "y"
    assert bearer_of(rf.get("/api/templates", headers={"Authorization": "Bearer"})) == ""
    assert bearer_of(rf.get("/api/templates", headers={"Authorization": "Basic z"})) is None
    assert bearer_of(rf.get("/jobs/x/", headers={"Authorization": "Bearer x"})) is None
    assert bearer_of(rf.get("/api/templates")) is None


def test_a_token_request_is_the_token_user_whatever_session_comes_along(
    rf, owner, token_of
) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    from api.middleware import BearerTokenMiddleware
    from jobs.access import ANON_OWNER_KEY

    request = rf.get("/api/templates", headers=bearer(token_of(owner)))
    request.session = SessionStore()
    request.session[ANON_OWNER_KEY] = "someone-elses-anonymous-jobs"
    seen: list[Any] = []
    BearerTokenMiddleware(lambda r: seen.append(viewer(r)))(request)

    assert seen[0].user_id == owner.pk and seen[0].anon_owner == ""
