"""A queued job's place in the queue and its expected wait (jobs/waiting.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Job, JobStatus
from jobs.waiting import job_queue_place

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Queue Coin", "template": "token"}


def _queued(n: int) -> list[Job]:
    return [services.job_create(owner=None, params=PARAMS) for _ in range(n)]


def _finished_in(seconds: float) -> None:
    now = timezone.now()
    job = services.job_create(owner=None, params=PARAMS)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, finished_at=now, started_at=now - timedelta(seconds=seconds)
    )


def _running() -> None:
    job = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=job)


def test_the_place_counts_the_jobs_queued_before_and_without_workers_the_wait_is_unknown():
    first, _, third = _queued(3)
    place = job_queue_place(job_id=third.pk, created_at=third.created_at)
    assert (place.position, place.workers, place.wait_s) == (3, 0, None)
    assert job_queue_place(job_id=first.pk, created_at=first.created_at).position == 1


def test_the_wait_is_the_median_duration_times_the_rounds_ahead_over_the_busy_workers():
    for seconds in (8, 10, 30):
        _finished_in(seconds)
    _running()
    _running()
    *_, fifth = _queued(5)

    place = job_queue_place(job_id=fifth.pk, created_at=fifth.created_at)

    assert (place.position, place.workers) == (5, 2)
    assert place.wait_s == 10 * 3  # median 10 s, 5 jobs over 2 workers: 3 rounds


def test_without_a_finished_job_to_learn_from_the_wait_is_unknown():
    _running()
    [job] = _queued(1)
    assert job_queue_place(job_id=job.pk, created_at=job.created_at).wait_s is None
