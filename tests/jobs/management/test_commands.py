"""The jobs app's management commands that have no test of their own elsewhere: create_job,
reap_jobs (purge_old: test_services.py and test_storage_bounds.py; purge_drafts:
test_drafts.py; journeys_rebuild: test_journey_rollup.py)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


def test_create_job_prints_the_id_of_a_queued_job_of_no_one():
    out = StringIO()

    call_command("create_job", "--name", "Script Coin", "--params", '{"symbol": "SCR"}', stdout=out)

    job = Job.objects.get(pk=out.getvalue().strip())
    assert (job.status, job.owner_id, job.anon_owner) == (JobStatus.QUEUED, None, "")
    assert job.params["symbol"] == "SCR"


def test_create_job_refuses_bad_parameters_with_a_command_error():
    with pytest.raises(CommandError):
        call_command("create_job", "--name", "Script Coin", "--params", "[1", stdout=StringIO())


@pytest.mark.django_db(transaction=True)  # the command closes old connections
def test_reap_jobs_once_reaps_the_stale_and_says_so(settings):
    settings.JOBS_STALE_AFTER_S = 30
    stale = Job.objects.create(
        name="Stale Coin",
        template="token",
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    out = StringIO()

    call_command("reap_jobs", stdout=out)

    assert f"reaped {stale.pk}" in out.getvalue()
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED
