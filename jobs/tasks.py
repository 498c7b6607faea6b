"""Background tasks (django.tasks; run by `manage.py run_worker`).

A task's result says what became of its job: successful only when the project was generated.
A failed or cancelled job ends its task failed, with an exception that says which and why, so
that the task results (in the admin, or through `django.tasks`) tell the truth.
"""

from typing import Any

from django.tasks import task

from jobs import pipeline
from jobs.models import Job, JobStatus


class JobNotSucceeded(Exception):
    """The job ended without a project."""


class JobFailed(JobNotSucceeded):
    """The job failed; the message is its error."""


class JobCancelled(JobNotSucceeded):
    """The job was cancelled."""


@task()
def generate_project(job_id: str) -> dict[str, Any]:
    """Generate the project of job `job_id`, reporting every step; return its outcome, or
    raise if it did not succeed."""
    pipeline.run(job_id=job_id)
    job = Job.objects.only("status", "error").get(pk=job_id)
    if job.status == JobStatus.FAILED:
        raise JobFailed(f"job {job_id} failed: {job.error}")
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled(f"job {job_id} was cancelled")
    return {"job": job_id, "status": job.status}
