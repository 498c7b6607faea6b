"""Background tasks (django.tasks; run by `manage.py run_worker`)."""

from django.tasks import task

from jobs import pipeline


@task()
def generate_project(job_id: str) -> None:
    """Generate the project of job `job_id`, reporting every step."""
    pipeline.run(job_id=job_id)
