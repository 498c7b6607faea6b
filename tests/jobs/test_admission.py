"""Job admission: unfinished jobs per owner, creations per owner and per address, and the
fair task priority that lets a newcomer's job overtake another owner's queue."""

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from jobs import services
from jobs.models import Job, WizardDraft
from tests.support.wizard import as_post, typed_step

pytestmark = pytest.mark.django_db

URL = "/api/jobs"
PARAMS = {"name": "Fair Coin", "template": "token"}


def post_job(client: Client, **extra: Any) -> Any:
    return client.post(URL, json.dumps(PARAMS), content_type="application/json", **extra)


def test_the_api_refuses_a_job_beyond_the_unfinished_cap_with_429_json_and_retry_after(
    client, settings
):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 3
    statuses = [post_job(client).status_code for _ in range(3)]
    refused = post_job(client)

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    body = refused.json()
    assert "3 unfinished jobs" in body["errors"]["__all__"][0]
    assert body["retry_after_s"] == int(refused["Retry-After"])
    assert Job.objects.count() == 3
    Job.objects.filter(pk=Job.objects.first().pk).update(status="succeeded")
    assert post_job(client).status_code == 201, "a finished job makes room"


def test_the_creation_rate_counts_per_owner(client, settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 0
    settings.JOBS_CREATE_RATE_PER_OWNER = 4
    statuses = [post_job(client).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 201, 429]
    assert post_job(Client()).status_code == 201, "another session from the address still may"


def test_the_creation_rate_counts_per_address_across_fresh_sessions(settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 0
    settings.JOBS_CREATE_RATE_PER_ADDRESS = 5
    statuses = [post_job(Client(REMOTE_ADDR="198.51.100.7")).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]
    assert post_job(Client(REMOTE_ADDR="198.51.100.8")).status_code == 201


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 0
    settings.JOBS_CREATE_RATE_PER_ADDRESS = 2

    def from_proxy(forwarded: str) -> int:
        return int(post_job(Client(), headers={"X-Forwarded-For": forwarded}).status_code)

    # Untrusted: a forged header changes nothing, every request counts as 127.0.0.1.
    assert [from_proxy(f"203.0.113.{i}") for i in range(3)] == [201, 201, 429]
    settings.REALTIME_TRUSTED_PROXIES = ["127.0.0.1/32"]
    # Trusted: the entry the proxy appended counts, whatever the client put before it.
    assert [from_proxy(f"10.9.9.{i}, 192.0.2.1") for i in range(3)] == [201, 201, 429]
    assert from_proxy("192.0.2.2") == 201


@pytest.mark.django_db(transaction=True)
def test_two_creates_at_once_cannot_both_pass_the_cap(owner, settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 1
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def create() -> None:
        start.wait(timeout=10)
        try:
            services.job_create(
                owner=owner, params=PARAMS, admission=services.Admission(address="192.0.2.9")
            )
            outcomes.append("created")
        except services.AdmissionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    assert Job.objects.filter(owner=owner).count() == 1


def test_scripts_and_staff_are_not_held_to_admission(owner, settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 1
    for _ in range(3):
        services.job_create(owner=owner, params=PARAMS)  # no admission: a script, a retry
    assert Job.objects.filter(owner=owner).count() == 3


def test_each_owners_first_job_outranks_everyones_later_ones(owner, django_user_model):
    other = django_user_model.objects.create_user(username="other", password="x")
    mine = [services.job_create(owner=owner, params=PARAMS) for _ in range(5)]
    theirs = services.job_create(owner=other, params=PARAMS)

    ready = DBTaskResult.objects.ready()
    order = [task.args_kwargs["kwargs"]["job_id"] for task in ready]
    ids = [str(job.pk) for job in mine]
    assert order == [ids[0], str(theirs.pk), *ids[1:]]
    assert [t.priority for t in ready] == [100, 100, 99, 98, 97, 96]


def test_the_wizard_shows_why_a_job_was_refused_and_keeps_every_input(client, settings):
    settings.JOBS_MAX_UNFINISHED_PER_OWNER = 1
    post_job(client)  # the session's one unfinished job
    for step in ("basics", "template", "options"):
        client.post(reverse("jobs:wizard-step", args=[step]), as_post(typed_step(step)))
    draft = WizardDraft.objects.get()
    before = dict(draft.data)

    response = client.post(reverse("jobs:wizard-generate"), {"draft": draft.pk})

    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    page = response.content.decode()
    assert "1 unfinished jobs (at most 1)" in page
    assert 'role="alert"' in page and "Generate project" in page
    draft.refresh_from_db()
    assert draft.data == before and draft.step != "submitted"
    assert Job.objects.count() == 1
