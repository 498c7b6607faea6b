"""A task's result tells what became of its job (jobs/tasks.py)."""

import pytest

from jobs import services
from jobs.tasks import JobCancelled, JobFailed, generate_project
from tests.support.jobs import succeeded_job

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Task Coin", "template": "token"}


def test_a_succeeded_job_makes_a_successful_task_with_its_outcome():
    job = succeeded_job(params=PARAMS)
    assert generate_project.call(job_id=str(job.pk)) == {"job": str(job.pk), "status": "succeeded"}


def test_a_failed_or_cancelled_job_makes_a_failed_task_that_says_why():
    failed = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=failed)
    services.job_fail(job=failed, error="The contracts do not compile: Token.sol:9")
    with pytest.raises(JobFailed, match="failed: The contracts do not compile"):
        generate_project.call(job_id=str(failed.pk))

    cancelled = services.job_create(owner=None, params=PARAMS)
    services.job_request_cancel(job=cancelled)
    with pytest.raises(JobCancelled, match="was cancelled"):
        generate_project.call(job_id=str(cancelled.pk))
