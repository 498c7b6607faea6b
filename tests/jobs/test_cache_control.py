"""Job pages, status answers and downloads are never stored by a cache."""

import pytest
from django.test import Client

from jobs import services
from jobs.pipeline import run as run_pipeline

pytestmark = pytest.mark.django_db


def test_job_page_status_and_download_say_private_no_store(owner, settings):
    settings.JOBS_STEP_PACE_S = 0
    job = services.job_create(owner=owner, params={"name": "Store Coin", "template": "token"})
    run_pipeline(job_id=job.pk)
    client = Client()
    client.force_login(owner)
    answers = [
        client.get(f"/jobs/{job.pk}/"),
        client.get(f"/api/jobs/{job.pk}/status"),
        client.get(f"/jobs/{job.pk}/download"),
    ]
    answers[-1].close()  # the download streams its file
    assert [a.status_code for a in answers] == [200, 200, 200]
    for answer in answers:
        assert set(answer["Cache-Control"].replace(" ", "").split(",")) == {"private", "no-store"}
