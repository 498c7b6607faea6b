"""The status endpoint: the polling fallback returns the stream's events, cheaply and fairly."""

import asyncio
import json
from urllib.parse import urlencode

import httpx
import pytest
from django.test import AsyncClient, Client
from django.urls import reverse

from jobs import polls, selectors, services
from jobs.access import ANON_OWNER_KEY
from jobs.views import polling
from realtime import metrics
from tests.support.jobs import succeeded_job
from tests.support.ratelimits import clear_rate_limits
from tests.support.servers import free_port
from tests.support.sse import parse_lines

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Poll Coin", "template": "token"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    clear_rate_limits()


@pytest.fixture
def finished_job(owner):
    return succeeded_job(owner=owner, params=PARAMS)


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _status_url(job, **query: object) -> str:
    url = reverse("jobs:status", args=[job.pk])
    return f"{url}?{urlencode(query)}" if query else url


def test_status_has_the_snapshot_every_event_and_no_next_poll_once_finished(finished_job, owner):
    response = _client(owner).get(_status_url(finished_job))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"job", "events", "last_seq", "more", "next_poll_ms"}
    assert body["job"] == {
        "id": str(finished_job.pk),
        "name": "Poll Coin",
        "template": "token",
        "status": "succeeded",
        "percent": 100,
        "step": body["job"]["step"],
        "message": "Your project is ready",
        "eta_s": 0,
        "last_seq": finished_job.last_seq,
        "error": "",
        "download_url": reverse("jobs:api-download", args=[finished_job.pk]),
    }
    assert list(body["job"]["step"]) == ["key", "label", "index", "total"]
    assert [e["seq"] for e in body["events"]] == list(range(1, finished_job.last_seq + 1))
    assert body["last_seq"] == finished_job.last_seq
    assert body["more"] is False and body["next_poll_ms"] is None


def test_status_events_are_the_very_objects_the_stream_sends(finished_job, owner):
    client = AsyncClient()
    client.force_login(owner)

    async def stream() -> list[dict]:
        response = await client.get(reverse("jobs:events", args=[finished_job.pk]))
        body = b"".join([chunk async for chunk in response.streaming_content])
        return [json.loads(e.data) for e in parse_lines(body.decode().split("\n"))[0]]

    polled = _client(owner).get(_status_url(finished_job)).json()["events"]

    assert polled == asyncio.run(stream())
    assert polled == [
        e.as_dict() for e in selectors.job_events_after(job_id=finished_job.pk, after=0)
    ]


def test_next_poll_is_slow_while_queued_and_about_a_second_while_running(owner):
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    queued = client.get(_status_url(job)).json()
    services.job_start(job=job)
    running = client.get(_status_url(job)).json()

    assert queued["job"]["status"] == "queued" and running["job"]["status"] == "running"
    assert queued["next_poll_ms"] > running["next_poll_ms"] > 0
    assert 500 <= running["next_poll_ms"] <= 1500
    assert queued["job"]["download_url"] is None


def test_since_returns_only_later_events(finished_job, owner):
    body = _client(owner).get(_status_url(finished_job, since=5)).json()
    assert [e["seq"] for e in body["events"]] == list(range(6, finished_job.last_seq + 1))


@pytest.mark.parametrize("since", ["abc", "-1", "-5", "1e3", "٣", " ", "5;", "", "0x10"])
def test_malformed_or_negative_since_means_from_the_start(finished_job, owner, since):
    response = _client(owner).get(_status_url(finished_job, since=since))
    assert response.status_code == 200
    assert response.json()["events"][0]["seq"] == 1


@pytest.mark.parametrize("since", ["10000", "99999999999999999999", "0" * 30 + "7" * 12])
def test_since_beyond_the_end_gives_no_events(finished_job, owner, since):
    body = _client(owner).get(_status_url(finished_job, since=since)).json()
    assert body["events"] == [] and body["last_seq"] == finished_job.last_seq


def test_an_unchanged_poll_is_a_304_only_when_the_client_has_everything(owner):
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    first = client.get(_status_url(job, since=0))
    tag = first["ETag"]
    assert tag.startswith('W/"') and first["Cache-Control"] == "private, no-store"

    caught_up = client.get(_status_url(job, since=1))
    repeat = client.get(_status_url(job, since=1), headers={"If-None-Match": caught_up["ETag"]})
    assert repeat.status_code == 304 and repeat["ETag"] == caught_up["ETag"]
    assert repeat.content == b""

    # A tag from another cursor, or from before a new event, never hides an event.
    behind = client.get(_status_url(job, since=0), headers={"If-None-Match": caught_up["ETag"]})
    assert behind.status_code == 200 and [e["seq"] for e in behind.json()["events"]] == [1]
    services.job_report_progress(job=job, percent=5, message="moving")
    moved = client.get(_status_url(job, since=1), headers={"If-None-Match": caught_up["ETag"]})
    assert moved.status_code == 200 and [e["seq"] for e in moved.json()["events"]] == [2]
    star = client.get(_status_url(job, since=2), headers={"If-None-Match": "*"})
    assert star.status_code == 200


def test_a_long_history_comes_in_bounded_pages_with_an_immediate_next_poll(owner, monkeypatch):
    monkeypatch.setattr(polling, "MAX_EVENTS", 4)
    job = services.job_create(owner=owner, params=PARAMS)
    for percent in range(1, 10):
        services.job_report_progress(job=job, percent=percent)
    services.job_finish_cancelled(job=job)
    client, since, pages = _client(owner), 0, []

    while True:
        body = client.get(_status_url(job, since=since)).json()
        pages.append([e["seq"] for e in body["events"]])
        if not body["more"]:
            break
        assert body["next_poll_ms"] == polling.CATCH_UP_MS
        since = body["events"][-1]["seq"]

    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]
    assert body["next_poll_ms"] is None


def test_strangers_get_404_like_a_missing_job_and_staff_and_the_session_see_it(
    finished_job, django_user_model, staff_user
):
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    for client in (_client(), _client(stranger)):
        assert client.get(_status_url(finished_job)).status_code == 404
    missing = reverse("jobs:status", args=["00000000-0000-0000-0000-000000000000"])
    assert _client(finished_job.owner).get(missing).status_code == 404
    assert _client(staff_user).get(_status_url(finished_job)).status_code == 200

    anonymous = Client()
    session = anonymous.session
    session[ANON_OWNER_KEY] = "anon-poll"
    session.save()
    mine = services.job_create(owner=None, params=PARAMS, anon_owner="anon-poll")
    assert anonymous.get(_status_url(mine)).status_code == 200
    assert anonymous.get(_status_url(finished_job)).status_code == 404


def test_polls_beyond_the_rate_get_429_with_retry_after_and_304s_count(
    owner, django_user_model, settings
):
    settings.REALTIME_POLL_RATE = 3
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    tag = client.get(_status_url(job, since=1))["ETag"]
    assert client.get(_status_url(job, since=1), headers={"If-None-Match": tag}).status_code == 304
    assert client.get(_status_url(job, since=1)).status_code == 200
    refused_before = metrics.local_value("realtime_rate_limited_total")

    refused = client.get(_status_url(job, since=1))

    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert refused.json() == {
        "error": "rate_limited",
        "retry_after_s": wait,
        "detail": f"Too many polls: retry after {wait} s.",
    }
    assert 1 <= int(refused["Retry-After"]) <= 120
    assert metrics.local_value("realtime_rate_limited_total") == refused_before + 1
    other = django_user_model.objects.create_user(username="other", password="x")
    assert _client(other).get(_status_url(job)).status_code == 404  # counted on its own


def test_a_zero_rate_means_no_limit(owner, settings):
    settings.REALTIME_POLL_RATE = 0
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    assert all(client.get(_status_url(job)).status_code == 200 for _ in range(20))


def test_polls_work_and_stay_limited_while_redis_is_unreachable(owner, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.REALTIME_POLL_RATE = 2
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    assert [client.get(_status_url(job)).status_code for _ in range(3)] == [200, 200, 429]


def test_counters_move_and_the_fallback_reason_is_counted(owner):
    job = services.job_create(owner=owner, params=PARAMS)
    client = _client(owner)
    before = (
        metrics.local_value("realtime_polls_total"),
        metrics.local_value("realtime_polls_not_modified_total"),
        metrics.local_value("realtime_fallbacks_total"),
    )

    tag = client.get(_status_url(job, since=1), headers={polls.FALLBACK_HEADER: "stalled"})["ETag"]
    client.get(_status_url(job, since=1), headers={"If-None-Match": tag})

    after = (
        metrics.local_value("realtime_polls_total"),
        metrics.local_value("realtime_polls_not_modified_total"),
        metrics.local_value("realtime_fallbacks_total"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]


def test_the_limit_is_shared_by_every_web_process_through_redis(start_web, owner, session_cookies):
    webs = [start_web(REALTIME_POLL_RATE="4"), start_web(REALTIME_POLL_RATE="4")]
    job = services.job_create(owner=owner, params=PARAMS)
    cookies = session_cookies(owner)

    with httpx.Client(cookies=cookies, timeout=10) as http:
        codes = [http.get(f"{webs[i % 2].url}{_status_url(job)}").status_code for i in range(6)]

    assert codes == [200, 200, 200, 200, 429, 429]


def test_a_web_process_without_redis_still_answers_polls(start_web, owner, session_cookies):
    web = start_web(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", REALTIME_POLL_RATE="3")
    job = services.job_create(owner=owner, params=PARAMS)

    with httpx.Client(cookies=session_cookies(owner), timeout=10) as http:
        responses = [http.get(f"{web.url}{_status_url(job)}") for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].json()["events"][0]["type"] == "job-update"
    assert responses[3].json()["error"] == "rate_limited"
