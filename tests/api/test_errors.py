"""Every error under /api/ is the JSON error object, in DEBUG and in production; pages keep
Django's HTML errors."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from api.errors import code_for, error_response
from jobs import services
from jobs.models import Job
from tests.api.conftest import bearer
from tests.support.ratelimits import clear_rate_limits

pytestmark = pytest.mark.django_db

OVERSIZE = 3 * 1024 * 1024
"""Larger than DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request: pytest.FixtureRequest) -> Iterator[bool]:
    with override_settings(DEBUG=request.param):
        yield request.param


def assert_json_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["error"] == (code or code_for(status)) and body["detail"], body
    if response.has_header("Content-Length"):
        assert int(response["Content-Length"]) == len(response.content)
    return dict(body)


def test_404s_are_json_for_a_missing_job_a_bad_id_and_an_unknown_route(debug) -> None:
    client = Client()
    missing = assert_json_error(client.get(reverse("jobs:status", args=[uuid.uuid4()])), 404)
    assert missing["detail"] == "No such job."
    for path in ("/api/jobs/not-a-uuid/status", "/api/nothing-here", "/api/"):
        assert_json_error(client.get(path), 404)


def test_405_is_json_and_keeps_allow(debug) -> None:
    body = assert_json_error(Client().get(reverse("jobs:api-jobs")), 405)
    assert body["detail"] == "Use POST."
    assert Client().delete(reverse("jobs:api-templates"))["Allow"] == "GET"


def test_403_for_csrf_is_json_and_says_what_to_send(debug) -> None:
    response = Client(enforce_csrf_checks=True).post(
        reverse("jobs:api-jobs"),
        json.dumps({"name": "Api Coin", "template": "token"}),
        content_type="application/json",
    )
    body = assert_json_error(response, 403, "csrf_failed")
    assert "X-CSRFToken" in body["detail"] and "Bearer" in body["detail"]


def test_401_is_json_with_a_challenge(debug) -> None:
    response = Client().get(reverse("jobs:api-templates"), headers=bearer("crt_nope"))
    assert_json_error(response, 401, "invalid_token")
    assert response["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("with_token", [False, True], ids=["cookie", "token"])
def test_413_past_djangos_upload_limit_is_json_and_reads_nothing(
    debug, owner, token_of, with_token
) -> None:
    headers = bearer(token_of(owner)) if with_token else {}
    body = "name=" + "x" * OVERSIZE  # a form: CSRF would read it, were it not refused first
    response = Client(enforce_csrf_checks=True).post(
        reverse("jobs:api-jobs"),
        body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert "larger than" in assert_json_error(response, 413)["detail"]
    assert not Job.objects.exists()


def test_400s_of_the_api_itself_carry_the_error_object_and_the_field_errors(debug) -> None:
    response = Client().post(
        reverse("jobs:api-jobs"), json.dumps({"template": "token"}), content_type="application/json"
    )
    body = assert_json_error(response, 400, "invalid_params")
    assert body["errors"]["name"] == ["Give your project a name."]
    assert_json_error(
        Client().post(reverse("jobs:api-jobs"), "{", content_type="application/json"),
        400,
        "invalid_json",
    )
    assert_json_error(
        Client().post(reverse("jobs:api-jobs"), "x=1", content_type="text/plain"), 415
    )


def test_a_host_django_refuses_is_a_json_400(debug) -> None:
    response = Client().get(reverse("jobs:api-templates"), HTTP_HOST="evil.example")
    assert_json_error(response, 400)


def test_429_is_json_with_retry_after(owner, settings) -> None:
    settings.REALTIME_POLL_RATE = 1
    clear_rate_limits()
    job = services.job_create(owner=owner, params={"name": "Api Coin", "template": "token"})
    client = Client()
    client.force_login(owner)
    client.get(reverse("jobs:status", args=[job.pk]))
    response = client.get(reverse("jobs:status", args=[job.pk]))
    body = assert_json_error(response, 429)
    assert int(response["Retry-After"]) == body["retry_after_s"] >= 1
    clear_rate_limits()


@pytest.mark.urls("tests.api.crash_urls")
def test_a_crash_is_a_json_500_and_still_logged(debug, caplog) -> None:
    response = Client(raise_request_exception=False).get("/api/crash")
    body = assert_json_error(response, 500)
    assert "a bug" not in json.dumps(body)  # nothing of the crash leaks, even in DEBUG
    assert any(r.levelname == "ERROR" and "/api/crash" in r.getMessage() for r in caplog.records)


def test_pages_keep_djangos_html_errors(debug) -> None:
    response = Client().get(f"/jobs/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_one_error_helper_takes_more_keys_and_a_retry_after() -> None:
    response = error_response(409, "Nothing to cancel.", "already_finished", status="failed")
    assert json.loads(response.content) == {
        "error": "already_finished",
        "detail": "Nothing to cancel.",
        "status": "failed",
    }
    assert response["Cache-Control"] == "no-store" and not response.has_header("Retry-After")

    busy = error_response(429, retry_after_s=7)
    assert json.loads(busy.content) == {
        "error": "rate_limited",
        "detail": "Too Many Requests.",
        "retry_after_s": 7,
    }
    assert busy["Retry-After"] == "7"
