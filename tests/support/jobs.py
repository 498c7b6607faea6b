"""Jobs for the tests: made through the services and run to success in this process."""

from typing import Any

from django.test import override_settings

from jobs import services
from jobs.models import Job, JobStatus
from jobs.pipeline import run as run_pipeline

PARAMS = {"name": "Test Coin", "template": "token"}


def succeeded_job(
    *, owner: Any = None, anon_owner: str = "", params: dict[str, Any] | None = None
) -> Job:
    """Return a job of `owner` (or of the anonymous `anon_owner`) run to success, no pacing."""
    job = services.job_create(owner=owner, params=params or PARAMS, anon_owner=anon_owner)
    with override_settings(JOBS_STEP_PACE_S=0):
        run_pipeline(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return job
