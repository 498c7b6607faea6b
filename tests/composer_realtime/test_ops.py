"""Ops endpoints: /healthz, /readyz (which dependency is degraded), /metrics that move."""

import asyncio
import time

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.pipeline import run as run_pipeline
from tests.support.ratelimits import clear_rate_limits
from tests.support.sse import read_stream

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Ops Coin", "template": "token"}
REQUIRED = [
    "realtime_streams_open",
    "realtime_events_published_total",
    "realtime_events_delivered_total",
    "realtime_delivery_delay_seconds_bucket",
    "realtime_delivery_delay_seconds_count",
    "realtime_event_stage_seconds_bucket",
    "realtime_polls_total",
    "realtime_polling_clients",
    "realtime_fallbacks_total",
    "realtime_rate_limited_total",
    "realtime_streams_resumed_total",
    "composer_jobs",
]


def parse_metrics(text: str) -> dict[str, float]:
    """Return {sample name with labels: value}; fail on a line that is not the text format."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def _scrape(client: Client) -> dict[str, float]:
    response = client.get(reverse("metrics"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(response.content.decode())


def test_healthz_answers_while_the_process_lives():
    response = Client().get(reverse("healthz"))
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ok_when_database_and_redis_answer():
    response = Client().get(reverse("readyz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_names_redis_as_degraded_when_it_does_not_answer(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = Client().get(reverse("readyz"))
    assert response.status_code == 200  # still serving: the hub polls the database
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


def test_readyz_refuses_traffic_when_the_database_does_not_answer(start_web):
    web = start_web(DATABASE_URL="postgres://postgres@127.0.0.1:1/composer", DATABASE_POOL_SIZE="1")
    for _ in range(3):  # the first waits out its check; once the breaker knows, at once
        started = time.monotonic()
        response = httpx.get(f"{web.url}/readyz", timeout=30)
        took = time.monotonic() - started
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        # Refused connections: the pool retries them until its timeout, so a check says
        # "timeout" while it waits, the pool's error once it gave up, and the breaker's
        # "unavailable" once the process knows.
        database = body["checks"]["database"]
        assert database in {"timeout", "unavailable"} or database.startswith("error: "), body
        assert body["checks"]["redis"] == "ok"
        assert took < 5, f"/readyz took {took:.1f} s (it must answer within 2 s, load aside)"


def test_metrics_expose_every_named_family_with_help_and_type():
    text = Client().get(reverse("metrics")).content.decode()
    samples = parse_metrics(text)
    for family in REQUIRED:
        assert any(name == family or name.startswith(family + "{") for name in samples), family
        base = family.removesuffix("_bucket").removesuffix("_count")
        assert f"# TYPE {base} " in text
    assert {f'composer_jobs{{status="{s}"}}' for s in ("queued", "running", "cancelling")} <= set(
        samples
    )
    assert "composer_jobs_estimate" in samples


def test_running_a_job_moves_published_events_and_jobs_by_status(owner, settings):
    settings.JOBS_STEP_PACE_S = 0
    client = Client()
    before = _scrape(client)
    job = services.job_create(owner=owner, params=PARAMS)
    queued = _scrape(client)
    run_pipeline(job_id=job.pk)
    after = _scrape(client)
    job.refresh_from_db()

    assert queued['composer_jobs{status="queued"}'] == before['composer_jobs{status="queued"}'] + 1
    assert after['composer_jobs{status="queued"}'] == before['composer_jobs{status="queued"}']
    assert after['composer_jobs{status="running"}'] == before['composer_jobs{status="running"}']
    assert 'composer_jobs{status="succeeded"}' not in after  # finished jobs: no table scan
    assert (
        after["realtime_events_published_total"] - before["realtime_events_published_total"]
        == job.last_seq
    )


def test_polls_fallbacks_and_refusals_are_counted(owner, settings):
    settings.REALTIME_POLL_RATE = 2
    clear_rate_limits()
    job = services.job_create(owner=owner, params=PARAMS)
    client = Client()
    client.force_login(owner)
    before = _scrape(Client())
    url = reverse("jobs:status", args=[job.pk])
    statuses = [
        client.get(url, headers={"X-Realtime-Fallback": "stalled"}).status_code for _ in range(3)
    ]
    after = _scrape(Client())
    clear_rate_limits()

    assert statuses == [200, 200, 429]
    assert after["realtime_polls_total"] - before["realtime_polls_total"] == 2
    assert after["realtime_fallbacks_total"] - before["realtime_fallbacks_total"] == 2
    assert after["realtime_rate_limited_total"] - before["realtime_rate_limited_total"] == 1


def _wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def test_a_job_watched_over_sse_moves_the_stream_metrics_of_the_web_process(
    start_web, start_worker, owner, session_cookies
):
    web = start_web()
    start_worker()
    cookies = session_cookies(owner)

    def scrape() -> dict[str, float]:
        return parse_metrics(httpx.get(f"{web.url}/metrics", timeout=5).text)

    async def watch(url: str, **kwargs) -> object:
        async with httpx.AsyncClient(cookies=cookies) as client:
            return await read_stream(client, url, timeout=40, **kwargs)

    before = scrape()
    job = services.job_create(owner=owner, params=PARAMS)
    url = f"{web.url}/api/jobs/{job.pk}/events"
    live = asyncio.run(watch(url))
    resumed = asyncio.run(watch(url, headers={"Last-Event-ID": "3"}))  # a reconnect
    _wait_for(lambda: scrape()["realtime_streams_open"] == before["realtime_streams_open"])
    after = scrape()

    assert live.ended_by_server and resumed.events[0].seq == 4
    delivered = after["realtime_events_delivered_total"] - before["realtime_events_delivered_total"]
    delays = (
        after["realtime_delivery_delay_seconds_count"]
        - before["realtime_delivery_delay_seconds_count"]
    )
    assert delivered >= 1 and delays >= 1, "some events came live through the hub"
    for stage in ("statement", "commit", "publish", "redis", "fanout", "socket"):
        name = f'realtime_event_stage_seconds_count{{stage="{stage}"}}'
        assert after[name] > before[name], f"the worker's events were not timed at {stage}"
    assert after["realtime_streams_resumed_total"] - before["realtime_streams_resumed_total"] == 1
    assert after['composer_jobs{status="queued"}'] == before['composer_jobs{status="queued"}']
