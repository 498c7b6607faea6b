"""The ecosystem team's admin: jobs with their events, journeys and drafts, and task results.

Everything here is read-only: a job changes through `jobs.services` (the actions call them),
never by editing its row, which would bypass the event log and the doorbell. The lists stay
fast at 100,000 jobs: a constant number of queries per page (related rows joined, filters that
need no query), indexed orderings, and no full count of the unfiltered table.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, OuterRef, QuerySet, Subquery, UUIDField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from jobs import services
from jobs.models import Job, JobEvent, JobStatus, JourneyEvent, WizardDraft
from jobs.scaffolds import TEMPLATES
from jobs.timeline import duration_text


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A model admin for browsing: no adding, no editing, no deleting."""

    show_full_result_count = False  # no second COUNT(*) of the whole table per page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class TemplateFilter(admin.SimpleListFilter):
    """Filter by template, listed from the registry rather than a DISTINCT over every job."""

    title = "template"
    parameter_name = "template"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, template.label) for key, template in sorted(TEMPLATES.items())]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(template=self.value()) if self.value() else queryset


def _moment(value: datetime | None) -> str:
    """Return a time to the second, in UTC: jobs last seconds, not minutes."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _between(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "—"
    return duration_text((end - start).total_seconds())


class JobEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = JobEvent
    fields = ("seq", "type", "status", "percent", "message", "recorded")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="status")
    def status(self, event: JobEvent) -> str:
        return str(event.payload.get("status", ""))

    @admin.display(description="percent")
    def percent(self, event: JobEvent) -> str:
        return f"{event.payload.get('percent', 0)} %"

    @admin.display(description="message")
    def message(self, event: JobEvent) -> str:
        return str(event.payload.get("message", ""))

    @admin.display(description="recorded")
    def recorded(self, event: JobEvent) -> str:
        return _moment(event.created_at)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "template",
        "status",
        "percent_done",
        "owner_name",
        "created",
        "waited",
        "duration",
        "short_id",
    )
    list_filter = ("status", TemplateFilter, "created_at")
    search_fields = ("=id", "name", "owner__username", "=owner__email", "=anon_owner")
    search_help_text = "Job id (exact), project name, owner's user name or e-mail (exact)."
    list_select_related = ("owner",)
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-created_at",)
    inlines = (JobEventInline,)
    actions = ("cancel_jobs", "retry_failed_jobs")
    fields = (
        "id",
        "name",
        "template",
        "status",
        "percent_done",
        "step_now",
        "message",
        "eta",
        "error",
        "parameters",
        "owner",
        "anonymous_session",
        "retry_of",
        "download",
        "events",
        "created",
        "started",
        "finished",
        "last_heartbeat",
        "waited",
        "duration",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are created by the wizard or the API, with their first event

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # The list's actions need the permission; a single job's page is view-only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="done", ordering="percent")
    def percent_done(self, job: Job) -> str:
        return f"{job.percent} %"

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, job: Job) -> str:
        if job.owner is not None:
            return job.owner.get_username()
        return "anonymous visitor" if job.anon_owner else "—"

    @admin.display(description="took")
    def duration(self, job: Job) -> str:
        return _between(job.started_at, job.finished_at)

    @admin.display(description="waited in queue")
    def waited(self, job: Job) -> str:
        return _between(job.created_at, job.started_at)

    @admin.display(description="created", ordering="created_at")
    def created(self, job: Job) -> str:
        return _moment(job.created_at)

    @admin.display(description="started")
    def started(self, job: Job) -> str:
        return _moment(job.started_at)

    @admin.display(description="finished")
    def finished(self, job: Job) -> str:
        return _moment(job.finished_at)

    @admin.display(description="last heartbeat")
    def last_heartbeat(self, job: Job) -> str:
        return _moment(job.heartbeat_at)

    @admin.display(description="expected time left")
    def eta(self, job: Job) -> str:
        return "—" if job.eta_s is None or job.is_finished else f"about {job.eta_s} s"

    @admin.display(description="current step")
    def step_now(self, job: Job) -> str:
        step = job.step or {}
        return f"{step['index']} of {step['total']}: {step['label']}" if step else "—"

    @admin.display(description="anonymous session")
    def anonymous_session(self, job: Job) -> str:
        return job.anon_owner or "—"

    @admin.display(description="events recorded")
    def events(self, job: Job) -> int:
        return job.last_seq

    @admin.display(description="parameters")
    def parameters(self, job: Job) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(job.params, indent=2, ensure_ascii=False))

    @admin.display(description="generated project")
    def download(self, job: Job) -> SafeString | str:
        # Through the owner-checked download view (staff may see every job), never a media
        # URL: the files are not served from MEDIA_URL.
        if job.status != JobStatus.SUCCEEDED or not job.artifact:
            return "—"
        url = reverse("jobs:download", args=[job.pk])
        return format_html('<a href="{}">Download {}</a>', url, job.download_name())

    @admin.display(description="id")
    def short_id(self, job: Job) -> str:
        return str(job.pk)[:8]

    @admin.action(description="Cancel the selected jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Ask every selected unfinished job to stop, through the service."""
        asked = [
            job
            for job in queryset.filter(status__in=JobStatus.unfinished())
            if services.job_request_cancel(job=job) is not None
        ]
        skipped = queryset.count() - len(asked)
        self.message_user(
            request,
            f"Asked {_jobs(len(asked))} to stop; {_jobs(skipped)} "
            "already finished or cancelling left as they were.",
        )

    @admin.action(
        description="Retry the selected failed jobs (as new attempts)", permissions=["change"]
    )
    def retry_failed_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        """Create a new attempt of every selected failed job, linked to the one it retries."""
        failed = list(queryset.filter(status=JobStatus.FAILED).select_related("owner"))
        retried = _retry(failed, request=request, admin_=self)
        skipped = queryset.count() - len(failed)
        self.message_user(
            request,
            f"Queued {_jobs(len(retried))} as new attempts; "
            f"{_jobs(skipped)} not failed left as they were.",
        )


def _retry(failed: Sequence[Job], *, request: HttpRequest, admin_: JobAdmin) -> list[Job]:
    retried = []
    for job in failed:
        try:
            retried.append(
                services.job_create(
                    owner=job.owner, params=job.params, anon_owner=job.anon_owner, retry_of=job
                )
            )
        except services.InvalidJobParams as exc:
            admin_.message_user(request, f"{job.name}: not retried: {exc}", messages.WARNING)
    return retried


def _jobs(count: int) -> str:
    return f"{count} job{'s' if count != 1 else ''}"


def _job_link(job_id: Any) -> SafeString | str:
    """Link to a job's admin page from its id alone: no query for the job row."""
    if job_id is None:
        return "—"
    url = reverse("admin:jobs_job_change", args=[job_id])
    return format_html('<a href="{}">{}</a>', url, str(job_id)[:8])


@admin.register(JobEvent)
class JobEventAdmin(ReadOnlyAdmin):
    list_display = ("recorded", "job", "seq", "type")
    list_filter = ("type", "created_at")
    search_fields = ("=job__id",)
    search_help_text = "Job id (exact)."
    list_select_related = ("job",)
    ordering = ("-created_at",)
    list_per_page = 100

    @admin.display(description="recorded", ordering="created_at")
    def recorded(self, event: JobEvent) -> str:
        return _moment(event.created_at)


@admin.register(JourneyEvent)
class JourneyEventAdmin(ReadOnlyAdmin):
    list_display = (
        "recorded",
        "kind",
        "step",
        "field",
        "detail",
        "template",
        "visitor",
        "job_link",
    )
    list_filter = ("kind", "created_at")
    search_fields = ("=visitor", "=job__id", "=template")
    search_help_text = "Visitor pseudonym, job id or template key (all exact)."
    ordering = ("-created_at",)
    list_per_page = 100

    @admin.display(description="job")
    def job_link(self, event: JourneyEvent) -> SafeString | str:
        return _job_link(event.job_id)

    @admin.display(description="recorded", ordering="created_at")
    def recorded(self, event: JourneyEvent) -> str:
        return _moment(event.created_at)


@admin.register(WizardDraft)
class WizardDraftAdmin(ReadOnlyAdmin):
    list_display = ("id", "step", "owner_name", "updated_at", "job_link")
    list_filter = ("step", "updated_at")
    search_fields = ("=id", "owner__username")
    search_help_text = "Draft id (exact) or owner's user name."
    list_select_related = ("owner",)
    ordering = ("-updated_at",)

    @admin.display(description="owner")
    def owner_name(self, draft: WizardDraft) -> str:
        if draft.owner is not None:
            return draft.owner.get_username()
        return "anonymous visitor" if draft.anon_owner else "—"

    @admin.display(description="submitted as")
    def job_link(self, draft: WizardDraft) -> SafeString | str:
        return _job_link(draft.job_id)


# django-tasks-db's task results, with the job each one ran and what became of it: a task
# whose job failed or was cancelled ends FAILED (jobs/tasks.py), and this column says which.
admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = (  # type: ignore[assignment]
        *DBTaskResultAdmin.list_display[:3],
        "job_outcome",
        *DBTaskResultAdmin.list_display[3:],
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[DBTaskResult[Any, Any]]:
        job_id = Cast(
            KeyTextTransform("job_id", KeyTransform("kwargs", OuterRef("args_kwargs"))),
            UUIDField(),
        )
        outcome = Job.objects.filter(pk=job_id).values("status")[:1]
        results: QuerySet[DBTaskResult[Any, Any]] = super().get_queryset(request)
        return results.annotate(job_status=Subquery(outcome))

    @admin.display(description="job")
    def job_outcome(self, result: DBTaskResult[Any, Any]) -> SafeString | str:
        job_id = (result.args_kwargs or {}).get("kwargs", {}).get("job_id")
        status = getattr(result, "job_status", None)
        if not job_id:
            return "—"
        label = JobStatus(status).label if status in JobStatus.values else "removed"
        url = reverse("admin:jobs_job_change", args=[job_id])
        return format_html('<a href="{}">{}</a> {}', url, str(job_id)[:8], label.lower())
