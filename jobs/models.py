"""Jobs and their events: the truth the streams, the polls and the dashboard read."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.generation.names import project_slug
from jobs.scaffolds import NETWORKS


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @classmethod
    def finished(cls) -> frozenset["JobStatus"]:
        """Return the three final statuses."""
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.CANCELLED})

    @classmethod
    def unfinished(cls) -> frozenset["JobStatus"]:
        """Return the statuses of a job that may still change."""
        return frozenset(set(cls) - cls.finished())


_UNFINISHED = sorted(JobStatus.unfinished())


class EventType(models.TextChoices):
    JOB_UPDATE = "job-update"
    PROGRESS_UPDATE = "progress-update"
    ERROR_NOTIFICATION = "error-notification"
    COMPLETION_STATUS = "completion-status"


class JobQuerySet(models.QuerySet["Job"]):
    def unfinished(self) -> "JobQuerySet":
        """Return jobs that are queued, running or cancelling."""
        return self.filter(status__in=JobStatus.unfinished())

    def stale(self, *, before: Any) -> "JobQuerySet":
        """Return started, unfinished jobs whose worker has not beaten since `before`."""
        return self.filter(
            status__in=[JobStatus.RUNNING, JobStatus.CANCELLING], heartbeat_at__lt=before
        )


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="composer_jobs",
    )
    anon_address = models.CharField(
        max_length=32,
        blank=True,
        help_text="Pseudonym (keyed hash) of the address an anonymous visitor created it from.",
    )
    anon_owner = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Random id kept in the anonymous visitor's session; not the session key.",
    )
    name = models.CharField(max_length=100)
    template = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    percent = models.PositiveSmallIntegerField(default=0)
    step = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    eta_s = models.PositiveIntegerField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    artifact = models.FileField(upload_to="projects/%Y/%m/", blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # No index holds a column that progress writes (last_seq, percent, message, eta_s, step,
        # heartbeat_at): each event's UPDATE is then a HOT update, which writes no index entry
        # (docs/performance.md, "Figures behind the code"). The heartbeat's readers (the reaper,
        # the dashboard) look at unfinished jobs only, through `job_unfinished`.
        indexes = [
            # Only unfinished jobs, a small set however long the history: the admission cap
            # counts an owner's, /metrics counts them by status.
            models.Index(
                fields=["owner", "anon_owner"],
                name="job_owner_unfinished",
                condition=models.Q(status__in=_UNFINISHED),
            ),
            models.Index(
                fields=["status"], name="job_unfinished", condition=models.Q(status__in=_UNFINISHED)
            ),
            # The per-address cap counts an address's unfinished anonymous jobs.
            models.Index(
                fields=["anon_address"],
                name="job_address_unfinished",
                condition=models.Q(status__in=_UNFINISHED) & ~models.Q(anon_address=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.template}, {self.status})"

    @property
    def is_finished(self) -> bool:
        """Return True once the job has reached a final status."""
        return self.status in JobStatus.finished()

    @property
    def channel(self) -> str:
        """Return the doorbell channel of this job."""
        return job_channel(self.id)

    def download_name(self) -> str:
        """Return the file name offered for the generated project: its one slug, then the
        template unless the slug already says it (`harbor-commons-dao.zip`, not `…-dao-dao`)."""
        slug = project_slug(self.name)
        return f"{slug}.zip" if self.template in slug.split("-") else f"{slug}-{self.template}.zip"

    @property
    def project_folder(self) -> str:
        """Return the folder the zip unpacks into."""
        return self.download_name().removesuffix(".zip")

    @property
    def project_networks(self) -> dict[str, Any]:
        """Return the local devnet every project deploys to, and its target network (None
        when that is the devnet): label, chain id, RPC URL or the variable that holds it."""
        network = str(self.params.get("network", "devnet"))
        return {
            "devnet": NETWORKS["devnet"],
            "target": None if network == "devnet" else {"key": network, **NETWORKS[network]},
        }


def job_channel(job_id: uuid.UUID | str) -> str:
    """Return the doorbell channel name for a job id."""
    return f"job:{job_id}"


class JobEvent(models.Model):
    # No index of its own: the unique (job, seq) serves every lookup by job, one index fewer
    # to write per event.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=24, choices=EventType.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="jobevent_unique_seq"),
        ]
        indexes = [models.Index(fields=["created_at"], name="jobevent_created")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.seq} {self.type}"


class JourneyKind(models.TextChoices):
    WIZARD_STARTED = "wizard_started"
    STEP_COMPLETED = "step_completed"
    VALIDATION_ERROR = "validation_error"
    SUBMITTED = "submitted"
    JOB_SUCCEEDED = "job_succeeded"
    JOB_FAILED = "job_failed"
    JOB_CANCELLED = "job_cancelled"
    DOWNLOADED = "downloaded"
    FIELD_EDITED = "field_edited"


class JourneyEvent(models.Model):
    """One step of a developer's journey, for the ecosystem team's funnel.

    `visitor` is a keyed hash of the user or anonymous session: it links one person's steps
    without storing who they are.
    """

    kind = models.CharField(max_length=24, choices=JourneyKind.choices)
    visitor = models.CharField(max_length=32, db_index=True)
    step = models.CharField(max_length=32, blank=True)
    field = models.CharField(max_length=64, blank=True)
    template = models.CharField(max_length=64, blank=True)
    detail = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the person was shown: a validation error (the values typed are left "
        "out) or what ended their job.",
    )
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="journey_events"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="journey_kind_created"),
            models.Index(fields=["created_at"], name="journey_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.step or self.field or self.template}".strip()


class JourneySource(models.TextChoices):
    WIZARD = "wizard", "The wizard"
    EDIT = "edit", "The wizard, from an earlier job's options"
    API = "api", "The API"
    AGAIN = "again", "Run again"


class Journey(models.Model):
    """One developer's way from the wizard's start to a download, folded from their events.

    Kept up to date by `jobs.journey_rollup` as each `JourneyEvent` is recorded (and rebuilt
    from them by `manage.py journeys_rebuild`): the funnel reads one row per journey instead
    of every event. The `at_*` columns say when each stage was first reached.
    """

    visitor = models.CharField(max_length=32, db_index=True)
    source = models.CharField(max_length=8, choices=JourneySource.choices)
    template = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    at_wizard = models.DateTimeField(null=True, blank=True)
    at_basics = models.DateTimeField(null=True, blank=True)
    at_template = models.DateTimeField(null=True, blank=True)
    at_options = models.DateTimeField(null=True, blank=True)
    at_review = models.DateTimeField(null=True, blank=True)
    at_submitted = models.DateTimeField(null=True, blank=True)
    at_succeeded = models.DateTimeField(null=True, blank=True)
    at_downloaded = models.DateTimeField(null=True, blank=True)
    furthest = models.SmallIntegerField(default=-1, help_text="The furthest stage reached.")
    reached = models.SmallIntegerField(
        default=0, help_text="The stages reached, one bit each (bit i: stage i)."
    )
    last_at = models.DateTimeField()
    last_kind = models.CharField(max_length=24, choices=JourneyKind.choices)
    last_step = models.CharField(max_length=32, blank=True)
    last_field = models.CharField(max_length=64, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    error_kind = models.CharField(max_length=24, blank=True, choices=JourneyKind.choices)
    error_step = models.CharField(max_length=32, blank=True)
    error_field = models.CharField(max_length=64, blank=True)
    error_detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["source", "started_at"], name="journey_source_started"),
            models.Index(
                fields=["source", "template", "started_at"], name="journey_template_started"
            ),
            models.Index(fields=["source", "furthest", "started_at"], name="journey_stopped"),
        ]

    def __str__(self) -> str:
        return f"journey of {self.visitor[:8]} from {self.started_at:%Y-%m-%d %H:%M}"


class WizardDraft(models.Model):
    """A wizard in progress, kept server-side so refresh, back and a new tab lose nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="wizard_drafts",
    )
    anon_owner = models.CharField(max_length=64, blank=True, db_index=True)
    step = models.CharField(max_length=32, default="basics")
    data = models.JSONField(default=dict)
    job = models.ForeignKey(
        Job,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The job this draft was submitted as.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"draft {self.pk} at {self.step}"
