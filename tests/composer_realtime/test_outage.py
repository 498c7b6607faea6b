"""A request that cannot have the database: 503 with Retry-After at once, in the shape its
client reads (the API's JSON error, a page, a stream's `busy`); never Django's 500."""

import json
from typing import Any

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from api.services import token_create
from composer_realtime.dbhealth import RETRY_AFTER_S
from composer_realtime.outage import DatabaseOutageMiddleware, unavailable_response
from jobs import services
from tests.support.database import database_refused

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Outage Coin", "template": "token"}


def _json(response: HttpResponse) -> dict[str, object]:
    return json.loads(response.content)


def test_each_client_gets_the_answer_it_can_read():
    factory = RequestFactory()
    api = unavailable_response(factory.get("/api/jobs"))
    page = unavailable_response(factory.get("/jobs/x/"))
    stream = unavailable_response(factory.get("/api/x/events", HTTP_ACCEPT="text/event-stream"))
    assert (api.status_code, api["Retry-After"]) == (503, str(RETRY_AFTER_S))
    assert _json(api) == {
        "error": "database_unavailable",
        "detail": f"The database is not answering; retry after {RETRY_AFTER_S} s.",
        "retry_after_s": RETRY_AFTER_S,
    }
    assert (page.status_code, page["Retry-After"]) == (503, str(RETRY_AFTER_S))
    assert page["Content-Type"].startswith("text/html") and b"Back in a moment" in page.content
    # A 503 would stop EventSource for good; `busy` has it come back after `retry:`.
    assert stream.status_code == 200 and stream["Content-Type"].startswith("text/event-stream")
    text = stream.content.decode()
    assert "event: busy" in text and '"error": "database_unavailable"' in text
    retry_ms = int(text.split("retry: ")[1].split("\n")[0])
    assert RETRY_AFTER_S * 1000 <= retry_ms <= 2 * RETRY_AFTER_S * 1000


def test_a_middleware_that_failed_for_want_of_a_database_is_answered_503_not_500():
    def session_save_failed(request: HttpRequest) -> HttpResponse:
        raise OperationalError("the database gave no answer within 6 s")

    chain = DatabaseOutageMiddleware(convert_exception_to_response(session_save_failed))
    response = chain(RequestFactory().get("/api/jobs"))
    assert response.status_code == 503 and _json(response)["error"] == "database_unavailable"


def test_other_errors_stay_500():
    def broken(request: HttpRequest) -> HttpResponse:
        raise ValueError("a bug")

    chain = DatabaseOutageMiddleware(convert_exception_to_response(broken))
    assert chain(RequestFactory().get("/api/jobs")).status_code == 500


def test_while_the_database_is_down_polls_pages_streams_and_the_api_answer_at_once(owner):
    job = services.job_create(owner=owner, params=PARAMS)
    token = token_create(user=owner, name="outage")[1]
    client = Client()
    client.force_login(owner)
    with database_refused():
        answers = _ask_everything(client, job.pk, {"Authorization": f"Bearer {token}"})
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "poll (token)": 503,
        "poll (session)": 503,
        "page": 503,
        "create": 503,
        "stream (program)": 503,
        "stream (EventSource)": 200,
    }
    for name, response in answers.items():
        if response.status_code == 503:
            assert response["Retry-After"] == str(RETRY_AFTER_S), name
    assert b"event: busy" in answers["stream (EventSource)"].content


def _ask_everything(client: Client, job_id: object, bearer: dict[str, str]) -> dict[str, Any]:
    event_stream = {**bearer, "Accept": "text/event-stream"}
    return {
        "poll (token)": client.get(f"/api/jobs/{job_id}/status", headers=bearer),
        "poll (session)": client.get(f"/api/jobs/{job_id}/status"),
        "page": client.get(f"/jobs/{job_id}/"),
        "create": client.post("/api/jobs", PARAMS, content_type="application/json", headers=bearer),
        "stream (program)": client.get(f"/api/jobs/{job_id}/events", headers=bearer),
        "stream (EventSource)": client.get(f"/api/jobs/{job_id}/events", headers=event_stream),
    }
