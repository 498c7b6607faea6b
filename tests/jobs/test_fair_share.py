"""Fair scheduling with real workers: one owner's queue does not hold up another's job.

Owner A queues a backlog, then B submits one job. With two workers, B's job starts as soon
as a worker frees up (about one job's duration at most), not after A's whole backlog: each
task's priority falls with its owner's unfinished jobs (jobs.services.fair_priority), and
django-tasks-db's workers take the highest priority first.
"""

import statistics
import time

import pytest

from jobs import services
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)

PARAMS = {"name": "Queue Coin", "template": "token"}


def _wait_all_finished(jobs: list[Job], timeout: float) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = list(Job.objects.filter(pk__in=[job.pk for job in jobs]))
        if all(job.status in JobStatus.finished() for job in fresh):
            return sorted(fresh, key=lambda job: job.created_at)
        time.sleep(0.1)
    raise TimeoutError("jobs did not finish in time")


def _wait_running(count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Job.objects.filter(status=JobStatus.RUNNING).count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} jobs were not running in time")
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("backlog", "fair"),
    [(3, True), (8, True), (8, False)],
    ids=["default-cap", "backlog-8", "backlog-8-fifo-baseline"],
)
def test_a_second_owners_job_waits_about_one_job_not_the_first_owners_backlog(
    backlog, fair, owner, django_user_model, start_worker, capsys, monkeypatch
):
    if not fair:  # what django-tasks-db does with one priority for all: first come, first served
        monkeypatch.setattr(services, "fair_priority", lambda unfinished: 0)
    other = django_user_model.objects.create_user(username="b", password="x")
    for _ in range(2):
        start_worker(JOBS_STEP_PACE_S="0.1")
    a_jobs = [services.job_create(owner=owner, params=PARAMS) for _ in range(backlog)]
    _wait_running(2)  # both workers busy with A's jobs, the rest of A's queued
    b_job = services.job_create(owner=other, params=PARAMS)

    done = _wait_all_finished([*a_jobs, b_job], timeout=120)
    by_id = {job.pk: job for job in done}
    b = by_id[b_job.pk]
    a = [by_id[job.pk] for job in a_jobs]
    duration = statistics.median((j.finished_at - j.started_at).total_seconds() for j in a)
    b_wait = (b.started_at - b.created_at).total_seconds()
    a_after_b = sum(j.started_at > b.started_at for j in a)
    with capsys.disabled():
        print(
            f"\n{'fair' if fair else 'FIFO'}, 2 workers, A backlog {backlog}: "
            f"one job {duration:.2f} s; "
            f"B's job waited {b_wait:.2f} s ({b_wait / duration:.2f} jobs); "
            f"{a_after_b} of A's {backlog - 2} queued jobs started after it"
        )

    assert all(j.status == JobStatus.SUCCEEDED for j in done)
    # The order is the behaviour; how long that is in seconds is the printed figure (a busy
    # machine stretches it, and the worker polls once a second besides).
    if not fair:
        assert a_after_b == 0, "first come, first served: B waited for A's whole backlog"
        return
    assert a_after_b == backlog - 2, "B overtook every A job that was still queued"
