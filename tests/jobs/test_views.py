"""Views: who may see a job, the stream's edge cases, download and cancel."""

import asyncio
import io
import zipfile
from urllib.parse import urlencode

import pytest
from django.test import AsyncClient, Client
from django.urls import reverse

from jobs import services
from jobs.access import ANON_OWNER_KEY
from jobs.models import JobStatus
from tests.support.jobs import succeeded_job
from tests.support.sse import parse_lines

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "View Coin", "template": "token"}


@pytest.fixture
def finished_job(owner):
    return succeeded_job(owner=owner, params=PARAMS)


def _stream(client: AsyncClient, url: str, **headers: str) -> tuple[int, list]:
    async def go() -> tuple[int, list]:
        response = await client.get(url, headers=headers)
        if not response.streaming:
            return response.status_code, []
        body = b"".join([chunk async for chunk in response.streaming_content])
        return response.status_code, parse_lines(body.decode().split("\n"))[0]

    return asyncio.run(go())


def _async_client_for(user) -> AsyncClient:
    client = AsyncClient()
    if user is not None:
        client.force_login(user)
    return client


def test_owner_replays_a_finished_job_from_the_start_and_the_stream_ends(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    status, events = _stream(_async_client_for(owner), url)
    assert status == 200
    assert [int(e.id) for e in events] == list(range(1, finished_job.last_seq + 1))
    assert events[-1].event == "completion-status"


def test_finished_job_with_cursor_at_the_end_answers_204(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    status, _ = _stream(
        _async_client_for(owner), url, **{"Last-Event-ID": str(finished_job.last_seq)}
    )
    assert status == 204
    status, _ = _stream(_async_client_for(owner), f"{url}?last_event_id={finished_job.last_seq}")
    assert status == 204


def test_cursor_in_the_middle_replays_only_what_follows(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    _, events = _stream(_async_client_for(owner), url, **{"Last-Event-ID": "5"})
    assert [int(e.id) for e in events] == list(range(6, finished_job.last_seq + 1))


@pytest.mark.parametrize("cursor", ["abc", "-1", "1e3", "٣", " ", "5;", ","])
def test_malformed_cursor_means_from_the_start(finished_job, owner, cursor):
    url = reverse("jobs:events", args=[finished_job.pk])
    query = urlencode({"last_event_id": cursor})
    status, events = _stream(_async_client_for(owner), f"{url}?{query}")
    assert status == 200 and events[0].id == "1"
    if cursor.isascii():
        status, events = _stream(_async_client_for(owner), url, **{"Last-Event-ID": cursor})
        assert status == 200 and events[0].id == "1"


@pytest.mark.parametrize("cursor", ["99999999999999999999", "1" * 40])
def test_a_cursor_past_the_end_of_a_finished_job_is_caught_up(finished_job, owner, cursor):
    url = reverse("jobs:events", args=[finished_job.pk])
    status, events = _stream(_async_client_for(owner), url, **{"Last-Event-ID": cursor})
    assert (status, events) == (204, [])


def test_a_malformed_header_does_not_hide_a_valid_query_cursor(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    _, events = _stream(
        _async_client_for(owner), f"{url}?last_event_id=5", **{"Last-Event-ID": "garbage"}
    )
    assert [int(e.id) for e in events] == list(range(6, finished_job.last_seq + 1))


def test_a_valid_header_wins_over_the_query(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    _, events = _stream(
        _async_client_for(owner), f"{url}?last_event_id=2", **{"Last-Event-ID": "5"}
    )
    assert int(events[0].id) == 6


def test_a_header_sent_twice_resumes_from_the_smaller_value(finished_job, owner):
    url = reverse("jobs:events", args=[finished_job.pk])
    _, events = _stream(_async_client_for(owner), url, **{"Last-Event-ID": "5,3"})
    assert int(events[0].id) == 4


@pytest.mark.parametrize("name", ["events", "page", "download", "cancel"])
def test_other_users_and_sessions_get_404_like_a_missing_job(finished_job, django_user_model, name):
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    url = reverse(f"jobs:{name}", args=[finished_job.pk])
    for client in (Client(), _login(Client(), stranger)):
        response = client.post(url) if name == "cancel" else client.get(url)
        assert response.status_code == 404, (name, client)


def _login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_unknown_job_is_404(owner):
    status, _ = _stream(
        _async_client_for(owner),
        reverse("jobs:events", args=["00000000-0000-0000-0000-000000000000"]),
    )
    assert status == 404


def test_anonymous_session_sees_its_own_job_only():
    client = Client()
    session = client.session
    session[ANON_OWNER_KEY] = "anon-abc"
    session.save()
    mine = services.job_create(owner=None, params=PARAMS, anon_owner="anon-abc")
    theirs = services.job_create(owner=None, params=PARAMS, anon_owner="anon-xyz")
    assert client.get(reverse("jobs:page", args=[mine.pk])).status_code == 200
    assert client.get(reverse("jobs:page", args=[theirs.pk])).status_code == 404


def test_staff_see_every_job(finished_job, staff_user):
    assert (
        _login(Client(), staff_user).get(reverse("jobs:page", args=[finished_job.pk])).status_code
        == 200
    )


def test_page_shows_steps_progress_and_the_download_link(finished_job, owner):
    response = _login(Client(), owner).get(reverse("jobs:page", args=[finished_job.pk]))
    html = response.content.decode()
    assert 'data-step="compile"' in html and 'value="100"' in html
    assert reverse("jobs:download", args=[finished_job.pk]) in html
    assert "<script>" not in html  # no inline script: configured from data-* attributes


def test_download_sends_the_zip_with_a_sensible_name(finished_job, owner):
    response = _login(Client(), owner).get(reverse("jobs:download", args=[finished_job.pk]))
    assert response.status_code == 200
    assert 'filename="view-coin-token.zip"' in response["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert "view-coin-token/contracts/Token.sol" in names


def test_download_before_success_is_404(owner):
    job = services.job_create(owner=owner, params=PARAMS)
    assert _login(Client(), owner).get(reverse("jobs:download", args=[job.pk])).status_code == 404


def test_cancel_redirects_to_the_page_and_a_finished_job_stays_finished(finished_job, owner):
    response = _login(Client(), owner).post(reverse("jobs:cancel", args=[finished_job.pk]))
    assert response.status_code == 302
    finished_job.refresh_from_db()
    assert finished_job.status == JobStatus.SUCCEEDED


def test_under_asgi_the_download_is_read_in_chunks_without_a_sync_iterator_warning(
    finished_job, owner
):
    response = _login(Client(), owner).get(reverse("jobs:download", args=[finished_job.pk]))

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response])  # as the ASGI handler reads it

    body = asyncio.run(read())  # a warning would be an error here
    response.close()
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert "view-coin-token/contracts/Token.sol" in zipfile.ZipFile(io.BytesIO(body)).namelist()


def test_the_queue_place_of_a_queued_job_and_nothing_once_it_runs(owner):
    client = _login(Client(), owner)
    first = services.job_create(owner=owner, params=PARAMS)
    second = services.job_create(owner=owner, params=PARAMS)
    answer = client.get(reverse("jobs:queue", args=[second.pk])).json()
    assert (answer["status"], answer["position"], answer["wait_s"]) == ("queued", 2, None)
    services.job_start(job=first)
    services.job_start(job=second)
    answer = client.get(reverse("jobs:queue", args=[second.pk])).json()
    assert (answer["status"], answer["position"]) == ("running", None)
    assert Client().get(reverse("jobs:queue", args=[second.pk])).status_code == 404
