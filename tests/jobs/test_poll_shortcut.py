"""Unchanged polls answered in front of Django (jobs/poll_shortcut.py), on a real server.

Every test drives a uvicorn process over HTTP with real PostgreSQL and Redis, and tells the
shortcut's answers from Django's by the server's own counter.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from jobs import services
from jobs.models import Job
from tests.support.metrics import metric
from tests.support.ratelimits import clear_rate_limits
from tests.support.servers import WebServer

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Shortcut Coin", "template": "token"}
SHORTCUT = "realtime_polls_shortcut_total"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    clear_rate_limits()


class Poller:
    """A fallback client: it follows `since` and offers the ETag of its last answer."""

    def __init__(self, web: WebServer, job: Job, cookies: dict[str, str] | None) -> None:
        self.url = f"{web.url}/api/jobs/{job.pk}/status"
        self.http = httpx.Client(cookies=cookies, timeout=10)
        self.since = 0
        self.etag = ""

    def poll(self) -> httpx.Response:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        response = self.http.get(self.url, params={"since": self.since}, headers=headers)
        if response.status_code == 200:
            self.etag = response.headers["etag"]
            self.since = response.json()["last_seq"]
        return response

    def settle(self) -> None:
        """Poll until the answers come from the shortcut (at most 40 polls)."""
        for _ in range(40):
            before = metric(self.url.split("/api/")[0], SHORTCUT)
            assert self.poll().status_code in (200, 304)
            if metric(self.url.split("/api/")[0], SHORTCUT) > before:
                return
            time.sleep(0.05)
        raise AssertionError("the shortcut never answered")


@pytest.fixture
def poller() -> Iterator[Callable[..., Poller]]:
    """Return a function making pollers, all closed at the end."""
    made: list[Poller] = []

    def make(web: WebServer, job: Job, cookies: dict[str, str] | None) -> Poller:
        made.append(Poller(web, job, cookies))
        return made[-1]

    yield make
    for each in made:
        each.http.close()


@pytest.fixture
def polled(
    start_web, poller, owner, session_cookies
) -> Callable[..., tuple[WebServer, Job, Poller]]:
    """Return a function starting a web server (with `env`), a job of `owner` and its poller."""

    def make(**env: str) -> tuple[WebServer, Job, Poller]:
        web = start_web(**env)
        job = services.job_create(owner=owner, params=PARAMS)
        return web, job, poller(web, job, session_cookies(owner))

    return make


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.multi_items() if k not in {"date", "server"})


def test_unchanged_polls_are_answered_in_front_of_django_with_djangos_very_304(polled) -> None:
    web, _, client = polled()
    answers = [client.poll() for _ in range(3)]  # 200, 200 (new since), the first 304
    before = metric(web.url, SHORTCUT)

    answers += [client.poll() for _ in range(20)]

    assert [r.status_code for r in answers] == [200, 200] + [304] * 21
    assert metric(web.url, SHORTCUT) - before >= 18  # the rest go back to Django now and then
    djangos = _headers(answers[2])
    assert all(_headers(r) == djangos for r in answers[3:])
    assert ("vary", "Cookie") in djangos and ("cache-control", "private, no-store") in djangos
    assert metric(web.url, "realtime_polls_not_modified_total") >= 21


def test_a_new_event_ends_the_304s_within_a_second_and_arrives_whole(polled) -> None:
    _, job, client = polled()
    client.settle()

    event = services.job_start(job=job)
    recorded = time.monotonic()
    while (answer := client.poll()).status_code == 304:
        assert time.monotonic() - recorded < 1.0, "the shortcut kept answering 304"
        time.sleep(0.01)

    assert answer.status_code == 200
    assert [e["seq"] for e in answer.json()["events"]] == [event.seq]
    assert answer.json()["job"]["status"] == "running"


def test_strangers_and_anonymous_visitors_get_404_however_they_poll(
    start_web, poller, owner, django_user_model, session_cookies
) -> None:
    web = start_web()
    job = services.job_create(owner=owner, params=PARAMS)
    client = poller(web, job, session_cookies(owner))
    client.settle()
    stranger = django_user_model.objects.create_user(username="stranger", password="pw-x-123")

    for cookies in (session_cookies(stranger), None):
        intruder = poller(web, job, cookies)
        intruder.etag, intruder.since = client.etag, client.since
        assert [intruder.poll().status_code for _ in range(5)] == [404] * 5
    assert client.poll().status_code == 304


def test_a_lost_redis_link_sends_every_poll_back_to_django_until_it_is_back(
    start_web, poller, owner, session_cookies, private_redis, settings
) -> None:
    private_redis.start()
    settings.REDIS_URL = private_redis.url
    web = start_web(REDIS_URL=private_redis.url)
    job = services.job_create(owner=owner, params=PARAMS)
    client = poller(web, job, session_cookies(owner))
    client.settle()

    private_redis.kill()
    _wait_redis(web, "unreachable")
    services.job_start(job=job)  # its publish is lost: only the database knows
    before = metric(web.url, SHORTCUT)
    answer = client.poll()

    assert answer.status_code == 200 and answer.json()["job"]["status"] == "running"
    assert [client.poll().status_code for _ in range(5)] == [200] + [304] * 4  # new `since`
    assert metric(web.url, SHORTCUT) == before

    private_redis.start()
    _wait_redis(web, "ok")
    client.settle()
    services.job_report_progress(job=job, percent=40, message="Back")
    deadline = time.monotonic() + 1.0
    while (answer := client.poll()).status_code == 304:
        assert time.monotonic() < deadline
    assert answer.json()["job"]["message"] == "Back"


def test_a_deleted_job_is_a_404_again_once_the_trust_runs_out(polled) -> None:
    _, job, client = polled(REALTIME_POLL_SHORTCUT_S="0.5")
    client.settle()

    Job.objects.filter(pk=job.pk).delete()
    deleted = time.monotonic()
    while (status := client.poll().status_code) == 304:
        assert time.monotonic() - deleted < 2.0, "a deleted job kept its 304s"
        time.sleep(0.05)

    assert status == 404


def test_shortcut_answers_count_against_the_poll_rate(polled) -> None:
    web, _, client = polled(REALTIME_POLL_RATE="8")

    codes = [client.poll().status_code for _ in range(12)]

    assert codes[:2] == [200, 200] and codes[2:8] == [304] * 6 and codes[8:] == [429] * 4
    assert metric(web.url, SHORTCUT) >= 1


def test_a_zero_setting_leaves_every_poll_to_django(polled) -> None:
    web, _, client = polled(REALTIME_POLL_SHORTCUT_S="0")

    codes = [client.poll().status_code for _ in range(10)]

    assert codes == [200, 200] + [304] * 8
    assert metric(web.url, SHORTCUT) == 0


def _wait_redis(web: WebServer, state: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{web.url}/readyz", timeout=5).json()
        if body["checks"]["redis"] == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"/readyz never said redis {state}: {body}")


def test_a_poll_bearing_a_token_is_never_answered_by_the_shortcut_for_the_cookie(
    polled, django_user_model
) -> None:
    """The shortcut knows the cookie's viewer; with a token, the token says who is asking."""
    from api import services as token_services

    web, _, client = polled()
    client.settle()  # the owner's cookie and ETag now get the shortcut's 304s
    stranger = django_user_model.objects.create_user(username="stranger", password="pw-x-123")
    _, strangers = token_services.token_create(user=stranger, name="other")
    revoked, revoked_secret = token_services.token_create(user=stranger, name="gone")
    token_services.token_revoke(token=revoked)
    before = metric(web.url, SHORTCUT)

    with_token = [
        client.http.get(
            client.url,
            params={"since": client.since},
            headers={"If-None-Match": client.etag, "Authorization": f"Bearer {secret}"},
        )
        for secret in (strangers, revoked_secret, "not-a-token")
    ]

    assert [r.status_code for r in with_token] == [404, 401, 401]
    assert all(r.headers["content-type"] == "application/json" for r in with_token)
    assert metric(web.url, SHORTCUT) == before
    assert client.poll().status_code == 304  # the cookie alone still gets its answer
