"""Writes: gap-free seq, snapshot in step with the events, final states are final."""

import pytest
from django.db import transaction

from jobs import services
from jobs.models import EventType, Job, JobEvent, JobStatus
from jobs.wire import Step

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Svc Coin", "template": "token"}


def _types(job: Job) -> list[str]:
    return list(JobEvent.objects.filter(job=job).order_by("seq").values_list("type", flat=True))


def test_job_create_persists_queued_job_with_first_event_and_a_task(
    django_capture_on_commit_callbacks,
):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = services.job_create(owner=None, params=PARAMS)
    assert job.status == JobStatus.QUEUED and job.last_seq == 1
    assert job.params["network"] == "devnet" and job.params["symbol"] == "TKN"
    assert _types(job) == [EventType.JOB_UPDATE]
    assert DBTaskResult.objects.filter(args_kwargs__kwargs__job_id=str(job.pk)).count() == 1
    assert len(callbacks) == 1  # the doorbell rings after commit, once


@pytest.mark.parametrize(
    "params, error",
    [
        ({"template": "token"}, "name"),
        ({"name": "  ", "template": "token"}, "name"),
        ({"name": "X", "template": "nope"}, "unknown template"),
    ],
)
def test_job_create_refuses_bad_params_and_writes_nothing(params, error):
    with pytest.raises(services.InvalidJobParams, match=error):
        services.job_create(owner=None, params=params)
    assert not Job.objects.exists()


def test_progress_keeps_status_and_numbers_events_without_gaps():
    job = services.job_create(owner=None, params=PARAMS)
    step = Step(key="contracts", label="Render contracts", index=2, total=5)
    services.job_report_progress(job=job, percent=10, step=step, message="a")
    services.job_report_progress(job=job, percent=20, message="b")
    services.job_start(job=job)
    event = services.job_report_progress(job=job, percent=30)
    assert event.seq == 5
    assert list(JobEvent.objects.filter(job=job).values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    job.refresh_from_db()
    assert (job.status, job.percent, job.step["key"], job.last_seq) == (
        JobStatus.RUNNING,
        30,
        "contracts",
        5,
    )
    assert event.payload["step"]["key"] == "contracts"  # kept from the earlier step


def test_progress_on_a_finished_job_raises_and_writes_nothing():
    job = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=job)
    services.job_complete(job=job, artifact_name="projects/x.zip")
    with pytest.raises(services.JobFinishedError):
        services.job_report_progress(job=job, percent=50)
    assert Job.objects.get(pk=job.pk).last_seq == 3


def test_percent_out_of_range_is_refused():
    job = services.job_create(owner=None, params=PARAMS)
    with pytest.raises(ValueError, match="between 0 and 100"):
        services.job_report_progress(job=job, percent=101)


def test_fail_sends_error_notification_then_one_completion_status():
    job = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=job)
    services.job_fail(job=job, error="boom")
    assert _types(job)[-2:] == [EventType.ERROR_NOTIFICATION, EventType.COMPLETION_STATUS]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "boom" and job.finished_at


def test_cancel_running_then_finish_and_cancel_again_is_a_no_op():
    job = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=job)
    assert services.job_request_cancel(job=job).payload["status"] == JobStatus.CANCELLING
    assert services.job_request_cancel(job=job) is None  # already cancelling
    services.job_finish_cancelled(job=job)
    assert services.job_request_cancel(job=job) is None  # finished: no-op
    assert _types(job).count(EventType.COMPLETION_STATUS) == 1


def test_cancel_while_queued_finishes_at_once():
    job = services.job_create(owner=None, params=PARAMS)
    event = services.job_request_cancel(job=job)
    assert event.type == EventType.COMPLETION_STATUS
    assert event.payload["status"] == JobStatus.CANCELLED


def test_reaper_fails_only_started_jobs_with_a_stale_heartbeat():
    stale = services.job_create(owner=None, params=PARAMS)
    fresh = services.job_create(owner=None, params=PARAMS)
    queued = services.job_create(owner=None, params=PARAMS)
    for job in (stale, fresh):
        services.job_start(job=job)
    Job.objects.filter(pk=stale.pk).update(heartbeat_at="2000-01-01T00:00:00Z")

    reaped = services.jobs_reap_stale(stale_after_s=30)

    assert [j.pk for j in reaped] == [stale.pk]
    assert Job.objects.get(pk=stale.pk).status == JobStatus.FAILED
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.RUNNING
    assert Job.objects.get(pk=queued.pk).status == JobStatus.QUEUED
    assert _types(stale)[-2:] == [EventType.ERROR_NOTIFICATION, EventType.COMPLETION_STATUS]


def test_a_rolled_back_write_leaves_no_event_and_rings_no_bell(django_capture_on_commit_callbacks):
    job = services.job_create(owner=None, params=PARAMS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.job_report_progress(job=job, percent=5)
            raise RuntimeError("abort")
    assert callbacks == []
    assert Job.objects.get(pk=job.pk).last_seq == 1


def test_retention_purges_old_finished_jobs_and_their_artifacts_only(settings, tmp_path):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command
    from django.utils import timezone

    from jobs.models import JourneyEvent, JourneyKind

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    old = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=old)
    name = default_storage.save("projects/old.zip", ContentFile(b"zip"))
    services.job_complete(job=old, artifact_name=name)
    recent = services.job_create(owner=None, params=PARAMS)
    running = services.job_create(owner=None, params=PARAMS)
    services.job_start(job=running)
    long_ago = timezone.now() - timedelta(days=40)
    Job.objects.filter(pk__in=[old.pk, running.pk]).update(
        finished_at=long_ago, created_at=long_ago
    )
    JourneyEvent.objects.update(created_at=timezone.now() - timedelta(days=100))

    call_command("purge_old", "--days", "30", "--journey-days", "90")

    assert not Job.objects.filter(pk=old.pk).exists()
    assert not JobEvent.objects.filter(job_id=old.pk).exists()
    assert not default_storage.exists(name)
    assert Job.objects.filter(pk__in=[recent.pk, running.pk]).count() == 2
    assert JourneyEvent.objects.filter(kind=JourneyKind.JOB_SUCCEEDED).get().visitor == ""
