"""The team's admin: constant query counts, filters, search, read-only events, actions."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs import services
from jobs.models import Job, JobStatus, JourneyEvent, JourneyKind, WizardDraft
from tests.support.failures import unaffordable_nft

pytestmark = pytest.mark.django_db

PARAMS = {"name": "Admin Coin", "template": "token"}


@pytest.fixture
def team_member(staff_user):
    """A staff member of the ecosystem team: may view and act on everything in `jobs`."""
    staff_user.user_permissions.set(Permission.objects.filter(content_type__app_label="jobs"))
    return staff_user


@pytest.fixture
def admin(team_member) -> Client:
    client = Client()
    client.force_login(team_member)
    return client


def _add_jobs(count: int, django_user_model) -> list[Job]:
    """Add `count` jobs, each with its own owner, an event, a journey record and a draft."""
    start = Job.objects.count()
    owners = django_user_model.objects.bulk_create(
        django_user_model(username=f"dev{start + i}", email=f"dev{start + i}@example.com")
        for i in range(count)
    )
    jobs = Job.objects.bulk_create(
        Job(
            name=f"Project {start + i}",
            template=("token", "nft")[i % 2],
            owner=owner,
            status=JobStatus.values[i % len(JobStatus.values)],
        )
        for i, owner in enumerate(owners)
    )
    for job in jobs:
        job.events.create(seq=1, type="job-update", payload={"status": job.status, "percent": 0})
    JourneyEvent.objects.bulk_create(
        JourneyEvent(kind=JourneyKind.SUBMITTED, visitor=j.pk.hex, job=j, template=j.template)
        for j in jobs
    )
    WizardDraft.objects.bulk_create(WizardDraft(owner=o, step="review") for o in owners)
    return jobs


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


CHANGELISTS = [
    "admin:jobs_job_changelist",
    "admin:jobs_jobevent_changelist",
    "admin:jobs_journeyevent_changelist",
    "admin:jobs_wizarddraft_changelist",
]


@pytest.mark.parametrize("name", CHANGELISTS)
@pytest.mark.parametrize("query", ["", "?q=dev1", "?status__exact=running&template=nft"])
def test_a_changelist_costs_the_same_queries_for_5_or_50_rows(
    name, query, admin, django_user_model
):
    url = reverse(name) + (query if name == CHANGELISTS[0] or not query else "")
    _add_jobs(5, django_user_model)
    with_5 = _queries(admin, url)
    _add_jobs(45, django_user_model)
    with_50 = _queries(admin, url)
    assert with_5 == with_50


def test_filters_narrow_the_job_list(admin, django_user_model):
    _add_jobs(12, django_user_model)
    url = reverse("admin:jobs_job_changelist")
    response = admin.get(url, {"status__exact": "running", "template": "nft"})
    shown = list(response.context["cl"].result_list)
    assert shown and all(j.status == "running" and j.template == "nft" for j in shown)
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    response = admin.get(url, {"created_at__gte": str(today)})  # the filter's "Today" link
    assert len(response.context["cl"].result_list) == 12
    response = admin.get(url, {"created_at__lt": str(today)})
    assert len(response.context["cl"].result_list) == 0


@pytest.mark.parametrize("term", ["id", "Project 3", "dev3", "dev3@example.com"])
def test_search_finds_a_job_by_id_name_or_owner(term, admin, django_user_model):
    jobs = _add_jobs(12, django_user_model)
    target = next(j for j in jobs if j.name == "Project 3")
    response = admin.get(
        reverse("admin:jobs_job_changelist"), {"q": str(target.pk) if term == "id" else term}
    )
    assert target in list(response.context["cl"].result_list)


def test_a_search_term_that_is_no_uuid_does_not_break_the_id_search(admin, django_user_model):
    _add_jobs(3, django_user_model)
    response = admin.get(reverse("admin:jobs_job_changelist"), {"q": "not-a-uuid"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_a_job_page_shows_its_events_read_only(admin, owner):
    job = services.job_create(owner=owner, params=PARAMS)
    services.job_start(job=job)
    response = admin.get(reverse("admin:jobs_job_change", args=[job.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Queued" in html and "Started" in html
    assert 'name="_save"' not in html, "view-only: nothing to save"
    before = Job.objects.get(pk=job.pk).name
    admin.post(reverse("admin:jobs_job_change", args=[job.pk]), {"name": "Renamed"})
    assert Job.objects.get(pk=job.pk).name == before


def test_cancel_action_cancels_unfinished_jobs_through_the_service(admin, owner, settings):
    settings.JOBS_STEP_PACE_S = 0
    queued = services.job_create(owner=owner, params=PARAMS)
    running = services.job_create(owner=owner, params=PARAMS)
    services.job_start(job=running)
    done = services.job_create(owner=owner, params=PARAMS)
    services.job_request_cancel(job=done)

    response = admin.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "cancel_jobs", "_selected_action": [queued.pk, running.pk, done.pk]},
        follow=True,
    )

    statuses = {j.pk: j.status for j in Job.objects.all()}
    assert statuses == {queued.pk: "cancelled", running.pk: "cancelling", done.pk: "cancelled"}
    assert "Asked 2 jobs to stop; 1 job already finished" in response.content.decode()
    assert queued.events.last().type == "completion-status"


def test_retry_action_makes_a_new_attempt_of_each_failed_job(admin, owner):
    failed = services.job_create(owner=owner, params={**PARAMS, "network": "testnet"})
    services.job_start(job=failed)
    services.job_fail(job=failed, error="boom")
    other = services.job_create(owner=owner, params=PARAMS)

    response = admin.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "retry_failed_jobs", "_selected_action": [failed.pk, other.pk]},
        follow=True,
    )

    retry = Job.objects.get(retry_of=failed)
    assert (retry.status, retry.owner, retry.params) == ("queued", owner, failed.params)
    assert retry.events.get().type == "job-update"
    assert not Job.objects.filter(retry_of=other).exists()
    assert "Queued 1 job as new attempts; 1 job not failed" in response.content.decode()


def test_an_anonymous_job_is_retried_for_the_same_session(admin):
    failed = services.job_create(owner=None, params=PARAMS, anon_owner="session-123")
    services.job_start(job=failed)
    services.job_fail(job=failed, error="boom")
    admin.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "retry_failed_jobs", "_selected_action": [failed.pk]},
    )
    retry = Job.objects.get(retry_of=failed)
    assert (retry.owner, retry.anon_owner) == (None, "session-123")


@pytest.mark.parametrize("name", CHANGELISTS[1:])
def test_events_journeys_and_drafts_are_browsable_not_editable(name, admin, django_user_model):
    _add_jobs(3, django_user_model)
    response = admin.get(reverse(name))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3
    assert not response.context["has_add_permission"]


def test_people_outside_the_team_cannot_act(owner, django_user_model):
    client = Client()
    client.force_login(owner)
    response = client.get(reverse("admin:jobs_job_changelist"))
    assert response.status_code == 302  # to the admin login


def test_a_succeeded_job_links_its_download_through_the_checked_view_and_times_have_seconds(
    admin, owner
):
    from tests.support.jobs import succeeded_job

    job = succeeded_job(owner=owner, params=PARAMS)
    html = admin.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()

    download = reverse("jobs:download", args=[job.pk])
    assert f'href="{download}"' in html and "/media/" not in html
    response = admin.get(download)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    response.close()
    assert job.started_at is not None
    assert job.started_at.strftime("%H:%M:%S UTC") in html
    assert "Eta s" not in html and "Anon owner" not in html and "Last seq" not in html
    assert "expected time left" in html.lower() and "waited in queue" in html.lower()


def _run_worker_once() -> None:
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="admin-test",
        excluded_queue_names=[],
    ).run()


@pytest.mark.django_db(transaction=True)  # the worker closes its connection between tasks
def test_task_results_tell_what_became_of_each_job(admin_client, settings):
    from django_tasks_db.models import DBTaskResult

    settings.JOBS_STEP_PACE_S = 0
    ok = services.job_create(owner=None, params=PARAMS)
    pricey = services.job_create(owner=None, params=unaffordable_nft())
    cancelled = services.job_create(owner=None, params=PARAMS)
    services.job_request_cancel(job=cancelled)

    _run_worker_once()

    results = {r.args_kwargs["kwargs"]["job_id"]: r for r in DBTaskResult.objects.all()}
    assert results[str(ok.pk)].status == "SUCCESSFUL"
    assert results[str(pricey.pk)].status == "FAILED"
    assert results[str(pricey.pk)].exception_class_path == "jobs.tasks.JobFailed"
    assert results[str(cancelled.pk)].exception_class_path == "jobs.tasks.JobCancelled"
    page = admin_client.get(reverse("admin:django_tasks_database_dbtaskresult_changelist"))
    html = page.content.decode()
    for job, word in [(ok, "succeeded"), (pricey, "failed"), (cancelled, "cancelled")]:
        assert f"{str(job.pk)[:8]}</a> {word}" in html
    pricey.refresh_from_db()
    assert "enough funds" in pricey.error  # the failure, for real
    final = pricey.events.order_by("-seq").first()
    assert final.payload["message"].startswith("The smoke test could not mint a token")
