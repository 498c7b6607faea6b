"""The job model's vocabulary: statuses, the unfinished and stale querysets, names."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobStatus, job_channel

pytestmark = pytest.mark.django_db


def test_every_status_is_finished_or_unfinished_and_never_both():
    assert JobStatus.finished() | JobStatus.unfinished() == set(JobStatus)
    assert not JobStatus.finished() & JobStatus.unfinished()


def test_unfinished_and_stale_select_by_status_and_heartbeat():
    now = timezone.now()
    old = now - timedelta(minutes=5)
    queued = Job.objects.create(name="Q Coin", template="token", status="queued")
    stale = Job.objects.create(name="S Coin", template="token", status="running", heartbeat_at=old)
    Job.objects.create(name="F Coin", template="token", status="running", heartbeat_at=now)
    Job.objects.create(name="D Coin", template="token", status="failed", heartbeat_at=old)

    assert set(Job.objects.unfinished()) == {queued, stale, *Job.objects.filter(name="F Coin")}
    assert list(Job.objects.stale(before=now - timedelta(minutes=1))) == [stale]


def test_a_job_s_channel_and_download_name():
    job = Job(name="Harbor Commons DAO", template="dao", status="succeeded")

    assert job.channel == job_channel(job.id) == f"job:{job.id}"
    assert job.is_finished
    assert job.download_name() == "harbor-commons-dao.zip"
    assert Job(name="Harbor Coin", template="token").download_name() == "harbor-coin-token.zip"
    assert Job(name="Harbor Coin", template="token").project_folder == "harbor-coin-token"
