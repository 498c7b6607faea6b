"""The generation pipeline: named steps that render, check and package a dApp project.

Run by the worker. Every step is reported before it runs (percent and ETA); the job is checked
for cancellation between steps; a heartbeat thread tells the reaper the worker is alive.
"""

import io
import logging
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection

from jobs import services
from jobs.models import Job, JobStatus
from jobs.scaffolds import render_project
from jobs.verify import CHECKS
from jobs.wire import Step

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """A generated project failed one of its checks."""


@dataclass
class Workspace:
    """What the steps build up for one job."""

    job: Job
    rendered: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    artifact_name: str = ""


StepFn = Callable[[Workspace], str]


def _render(prefixes: tuple[str, ...]) -> StepFn:
    def step(ws: Workspace) -> str:
        chosen = {p: t for p, t in ws.rendered.items() if p.startswith(prefixes)}
        ws.files.update(chosen)
        return f"{len(chosen)} file(s)"
    return step


def _prepare(ws: Workspace) -> str:
    ws.rendered = render_project(ws.job.params)
    return f"template {ws.job.template}: {len(ws.rendered)} files to write"


def _render_rest(ws: Workspace) -> str:
    rest = {p: t for p, t in ws.rendered.items() if p not in ws.files}
    ws.files.update(rest)
    return f"{len(rest)} file(s)"


def _check(check: Callable[[dict[str, str]], list[str]]) -> StepFn:
    def step(ws: Workspace) -> str:
        errors = check(ws.files)
        if errors:
            raise CheckFailed("; ".join(errors))
        return "passed"
    return step


def _package(ws: Workspace) -> str:
    buffer = io.BytesIO()
    root = ws.job.download_name().removesuffix(".zip")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(ws.files.items()):
            archive.writestr(f"{root}/{path}", text)
    ws.artifact_name = default_storage.save(
        f"projects/{ws.job.pk}/{ws.job.download_name()}", ContentFile(buffer.getvalue())
    )
    return f"{len(ws.files)} files, {len(buffer.getvalue())} bytes"


STEPS: tuple[tuple[str, str, StepFn], ...] = (
    ("prepare", "Prepare the template", _prepare),
    ("contracts", "Render contracts", _render(("contracts/", "scripts/"))),
    ("frontend", "Render frontend", _render(("web/",))),
    ("config", "Write network configuration", _render(("config/", "package.json",
                                                        "hardhat.config", "dapp.toml"))),
    ("readme", "Write README and remaining files", _render_rest),
    *((key, label, _check(fn)) for key, label, fn in CHECKS),
    ("package", "Package the project", _package),
)


def run(*, job_id: str | uuid.UUID) -> None:
    """Run the pipeline for one job to its end: succeeded, failed or cancelled."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        logger.info("job %s is %s; not running it again", job.pk, job.status)
        return
    try:
        services.job_start(job=job)
    except services.JobFinishedError:
        return  # cancelled while queued
    with heartbeat(job.pk):
        _run_steps(job)


def _run_steps(job: Job) -> None:
    ws = Workspace(job=job)
    pace = settings.JOBS_STEP_PACE_S
    total = len(STEPS)
    try:
        for index, (key, label, fn) in enumerate(STEPS, start=1):
            if _cancel_requested(job):
                services.job_finish_cancelled(job=job)
                return
            step = Step(key=key, label=label, index=index, total=total)
            services.job_report_progress(
                job=job, percent=round(100 * (index - 1) / total), step=step,
                message=f"{label}…", eta_s=round((total - index + 1) * pace),
            )
            started = time.monotonic()
            detail = fn(ws)
            logger.info("job %s step %s: %s", job.pk, key, detail)
            time.sleep(max(0.0, pace - (time.monotonic() - started)))
        services.job_complete(job=job, artifact_name=ws.artifact_name)
    except services.JobFinishedError:
        logger.info("job %s was finished elsewhere (reaped?); stopping", job.pk)
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        services.job_fail(job=job, error=_describe(exc))


def _describe(exc: Exception) -> str:
    if isinstance(exc, CheckFailed):
        return f"The generated project failed a check: {exc}"
    return f"Generation failed: {type(exc).__name__}: {exc}"


def _cancel_requested(job: Job) -> bool:
    job.refresh_from_db(fields=["status"])
    return job.status == JobStatus.CANCELLING


@contextmanager
def heartbeat(job_id: uuid.UUID) -> Iterator[None]:
    """Beat for the job every JOBS_HEARTBEAT_S seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_S):
                close_old_connections()
                if not services.job_heartbeat(job_id=job_id):
                    return
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
