"""Fair per address: fresh anonymous sessions are free, their address is not. New visitors
and their unfinished jobs are bounded per client address, with clear answers, while a person
with a session, a signed-in user and another address go on. (Journey records are bounded too:
tests/jobs/test_journey.py.)"""

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jobs import services
from jobs.models import Job, WizardDraft

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Fair Coin", "template": "token"}
ADDRESS = "198.51.100.20"


def post_job(client: Client) -> Any:
    return client.post("/api/jobs", json.dumps(PARAMS), content_type="application/json")


def basics(client: Client, name: str = "Visitor Coin") -> Any:
    return client.post(reverse("jobs:wizard-step", args=["basics"]), {"name": name})


def test_new_visitors_past_the_rate_of_their_address_are_refused_with_429(settings):
    settings.JOBS_NEW_VISITORS_PER_ADDRESS = 3
    first = Client(REMOTE_ADDR=ADDRESS)
    answers = [basics(c) for c in (first, *(Client(REMOTE_ADDR=ADDRESS) for _ in range(2)))]
    assert [a.status_code for a in answers] == [302, 302, 302]

    refused = basics(Client(REMOTE_ADDR=ADDRESS), name="Kept On Screen")

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    page = refused.content.decode()
    assert "Too many new visitors from your network" in page
    assert 'value="Kept On Screen"' in page, "what was typed is shown again"
    assert WizardDraft.objects.count() == 3 and not refused.cookies.get("sessionid")
    assert basics(first).status_code == 302, "a visitor with a session goes on"
    assert basics(Client(REMOTE_ADDR="198.51.100.21")).status_code == 302


def test_the_api_and_autosave_refuse_a_new_visitor_as_json(settings):
    settings.JOBS_NEW_VISITORS_PER_ADDRESS = 1
    assert post_job(Client(REMOTE_ADDR=ADDRESS)).status_code == 201

    api = post_job(Client(REMOTE_ADDR=ADDRESS))
    autosave = Client(REMOTE_ADDR=ADDRESS).post(
        reverse("jobs:wizard-validate"), {"step": "basics", "name": "x"}
    )

    assert (api.status_code, api.json()["error"]) == (429, "too_many_visitors")
    assert api["Retry-After"]
    assert autosave.status_code == 429
    assert "Too many new visitors" in autosave.json()["errors"]["__all__"][0]


def test_a_signed_in_user_is_not_a_new_visitor(settings, owner):
    settings.JOBS_NEW_VISITORS_PER_ADDRESS = 1
    basics(Client(REMOTE_ADDR=ADDRESS))
    user = Client(REMOTE_ADDR=ADDRESS)
    user.force_login(owner)
    assert basics(user).status_code == 302


def test_unfinished_jobs_are_capped_per_address_across_fresh_sessions(settings, owner):
    settings.JOBS_MAX_UNFINISHED_PER_ADDRESS = 4
    statuses = [post_job(Client(REMOTE_ADDR=ADDRESS)).status_code for _ in range(5)]

    assert statuses == [201] * 4 + [429]
    refused = post_job(Client(REMOTE_ADDR=ADDRESS)).json()
    assert refused["error"] == "too_many_jobs"
    assert "Your network already has 4 unfinished jobs" in refused["detail"]
    assert post_job(Client(REMOTE_ADDR="198.51.100.21")).status_code == 201
    signed_in = Client(REMOTE_ADDR=ADDRESS)
    signed_in.force_login(owner)
    assert post_job(signed_in).status_code == 201, "a user has the per-owner cap"
    # A finished job frees its place.
    Job.objects.filter(anon_address__gt="").update(status="cancelled")
    assert post_job(Client(REMOTE_ADDR=ADDRESS)).status_code == 201


def test_the_address_is_kept_as_a_pseudonym_only():
    post_job(Client(REMOTE_ADDR=ADDRESS))
    job = Job.objects.get()
    assert len(job.anon_address) == 32 and ADDRESS not in job.anon_address
    assert job.anon_address == services.address_pseudonym(ADDRESS)
