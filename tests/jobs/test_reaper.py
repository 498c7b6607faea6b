"""The reaper fails jobs whose worker stopped beating, and after losing sight of the
database gives every worker a whole stale period to beat again first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.reaper import Reaper

pytestmark = pytest.mark.django_db


def _running(*, beat_ago_s: float) -> Job:
    return Job.objects.create(
        name="Beating Coin",
        template="token",
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_ago_s),
    )


def test_a_sweep_fails_the_stale_jobs_only(settings):
    settings.JOBS_STALE_AFTER_S = 30
    stale, alive = _running(beat_ago_s=60), _running(beat_ago_s=1)

    reaped = Reaper().sweep()

    assert [job.pk for job in reaped] == [stale.pk]
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert (stale.status, alive.status) == (JobStatus.FAILED, JobStatus.RUNNING)


def test_after_losing_sight_of_the_database_no_job_is_reaped_for_a_stale_period(settings):
    settings.JOBS_STALE_AFTER_S = 30
    reaper = Reaper()
    reaper._lost_sight()  # as a failed or hung sweep does
    stale = _running(beat_ago_s=60)

    assert reaper.sweep() == []
    stale.refresh_from_db()
    assert stale.status == JobStatus.RUNNING
