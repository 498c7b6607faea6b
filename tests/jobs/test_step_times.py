"""How long each step of a template usually takes (jobs/step_times.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobEvent, JobStatus
from jobs.step_times import step_medians

pytestmark = pytest.mark.django_db


def _job(template: str, starts: list[float], took: float, status: str = JobStatus.SUCCEEDED) -> Job:
    """A job whose steps a, b, c began `starts` seconds in and which ended at `took`."""
    t0 = timezone.now() - timedelta(hours=1)
    job = Job.objects.create(
        name="Timed", template=template, status=status, finished_at=t0 + timedelta(seconds=took)
    )
    for seq, (key, at) in enumerate(zip("abc", starts, strict=False), start=1):
        for extra in (0.0, 0.5):  # an opening line, then progress within the step
            JobEvent.objects.create(
                job=job,
                seq=2 * seq + (extra > 0),
                type="progress-update",
                payload={"step": {"key": key, "index": seq}},
                created_at=t0 + timedelta(seconds=at + extra),
            )
    return job


def test_the_median_of_each_step_over_the_templates_successful_jobs():
    _job("token", [0, 2, 5], 6)  # a 2, b 3, c 1
    _job("token", [0, 4, 6], 10)  # a 4, b 2, c 4
    _job("token", [0, 3, 9], 11)  # a 3, b 6, c 2
    _job("token", [0, 100, 200], 300, status=JobStatus.FAILED)  # not a success
    _job("nft", [0, 50, 60], 70)  # another template

    assert step_medians(template="token") == {"a": 3.0, "b": 3.0, "c": 2.0}


def test_a_job_is_not_its_own_usual_and_no_history_means_no_median():
    mine = _job("dao", [0, 1], 2)
    assert step_medians(template="dao", exclude=mine.pk) == {}
    assert step_medians(template="escrow") == {}
