"""The JSON API: POST /api/jobs with the wizard's validation, GET /api/templates, and a cancel
over HTTP against a real server and worker."""

import json
import time
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from jobs.forms import JobParamsForm
from jobs.models import EventType, Job, JobEvent, JobStatus, JourneyEvent, JourneyKind
from jobs.scaffolds import TEMPLATES, template_defaults
from tests.support.wizard import bad_value

pytestmark = pytest.mark.django_db

URL = "/api/jobs"
VALID = {
    "name": "Api Coin",
    "template": "token",
    "decimals": 6,
    "burnable": True,
    "network": "testnet",
}


def post_json(client: Client, payload: Any, **kwargs: Any) -> Any:
    return client.post(URL, json.dumps(payload), content_type="application/json", **kwargs)


def test_create_answers_201_with_the_jobs_urls(client):
    response = post_json(client, VALID)

    assert response.status_code == 201
    job = Job.objects.get()
    body = response.json()
    base = "http://testserver"
    assert body == {
        "id": str(job.pk),
        "page_url": f"{base}/jobs/{job.pk}/",
        "events_url": f"{base}/api/jobs/{job.pk}/events",
        "status_url": f"{base}/api/jobs/{job.pk}/status",
        "download_url": f"{base}/api/jobs/{job.pk}/download",
        "cancel_url": f"{base}/api/jobs/{job.pk}/cancel",
    }
    assert response["Location"] == body["page_url"]
    assert job.params == {**template_defaults("token"), **VALID}
    assert job.status == JobStatus.QUEUED
    [submitted] = JourneyEvent.objects.filter(kind=JourneyKind.SUBMITTED)
    assert (submitted.step, submitted.job) == ("api", job)


def test_an_anonymous_callers_job_belongs_to_their_session(client):
    page_url = post_json(client, VALID).json()["page_url"]
    job = Job.objects.get()
    assert job.owner is None and job.anon_owner
    assert client.get(page_url).status_code == 200
    assert Client().get(page_url).status_code == 404


def test_a_users_job_is_theirs(client, owner):
    client.force_login(owner)
    post_json(client, VALID)
    assert Job.objects.get().owner == owner


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_left_out_options_take_their_defaults(client, template):
    assert post_json(client, {"name": "Api Coin", "template": template}).status_code == 201
    assert Job.objects.get().params == {
        "name": "Api Coin",
        "template": template,
        **template_defaults(template),
    }


def _every_field() -> list[tuple[str, str]]:
    return [(key, name) for key in TEMPLATES for name in JobParamsForm(template=key).fields]


@pytest.mark.parametrize(("template", "field"), _every_field())
def test_a_bad_value_in_any_field_answers_400_naming_that_field_only(client, template, field):
    form_field = JobParamsForm(template=template).fields[field]
    payload = {"name": "Api Coin", "template": template, field: bad_value(field, form_field)}

    response = post_json(client, payload)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field] and errors[field] and all(errors[field])
    assert not Job.objects.exists()


def test_400_lists_every_wrong_field_with_its_messages(client):
    response = post_json(client, {"template": "token", "decimals": 99, "colour": "red"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["name"] == ["Give your project a name."]
    assert errors["decimals"] == ["Decimals can be at most 36; 99 is too large."]
    assert errors["colour"][0].startswith("“colour” is not a parameter")


def test_non_json_is_415(client):
    response = client.post(URL, {"name": "Api Coin", "template": "token"})
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["errors"]["__all__"][0]


@pytest.mark.parametrize("body", ["{", " ", "[1,", "\ud800", "[" * 30_000])
def test_malformed_json_is_400(client, body):
    response = client.post(
        URL, body.encode("utf-8", "surrogatepass"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"][0].startswith("The body is not valid JSON")


@pytest.mark.parametrize("payload", [[VALID], "token", 3, None])
def test_json_that_is_not_an_object_is_400(client, payload):
    response = post_json(client, payload)
    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["errors"]["__all__"][0]


def test_oversize_body_is_413(client):
    response = post_json(client, {**VALID, "description": "x" * 40_000})
    assert response.status_code == 413
    assert not Job.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_csrf_protection_stays_on_and_scripts_use_the_cookie():
    client = Client(enforce_csrf_checks=True)
    assert post_json(client, VALID).status_code == 403

    client.get(reverse("jobs:api-templates"))  # hands out the csrftoken cookie
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = post_json(client, VALID, headers={"X-CSRFToken": token})

    assert response.status_code == 201


def test_templates_lists_each_template_with_options_and_defaults(client):
    response = client.get(reverse("jobs:api-templates"))
    assert response.status_code == 200
    assert "max-age=300" in response["Cache-Control"]
    templates = {t["key"]: t for t in response.json()["templates"]}
    assert set(templates) == set(TEMPLATES)
    for key, entry in templates.items():
        assert entry["label"] == TEMPLATES[key].label
        assert entry["defaults"] == template_defaults(key)
        assert {o["name"]: o["default"] for o in entry["options"]} == template_defaults(key)
    fee = {o["name"]: o for o in templates["escrow"]["options"]}["fee_basis_points"]
    assert (fee["min"], fee["max"], fee["kind"]) == (0, 10_000, "int")


@pytest.mark.django_db(transaction=True)
def test_cancel_mid_job_over_http_ends_the_job_cancelled(start_web, start_worker):
    web = start_web()
    start_worker(JOBS_STEP_PACE_S="1")
    with httpx.Client(base_url=web.url, timeout=10) as http:
        http.get("/api/templates")
        csrf = {"X-CSRFToken": http.cookies[django_settings.CSRF_COOKIE_NAME]}
        created = http.post(URL, json={"name": "Cancel Me", "template": "nft"}, headers=csrf)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        wait_for(lambda: Job.objects.get(pk=job_id).percent > 0, "the job to make progress")

        cancel = http.post(f"/jobs/{job_id}/cancel", headers=csrf)

        assert cancel.status_code == 302
        wait_for(lambda: Job.objects.get(pk=job_id).is_finished, "the job to finish")
    job = Job.objects.get(pk=job_id)
    assert job.status == JobStatus.CANCELLED and not job.artifact
    events = list(JobEvent.objects.filter(job=job).order_by("seq"))
    assert [e.type for e in events].count(EventType.COMPLETION_STATUS) == 1
    assert events[-1].type == EventType.COMPLETION_STATUS
    assert events[-1].payload["status"] == JobStatus.CANCELLED
    assert JobStatus.CANCELLING in [e.payload["status"] for e in events]
    assert JourneyEvent.objects.filter(kind=JourneyKind.JOB_CANCELLED, job=job).exists()


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.1)
