"""The generation pipeline: render, compile, deploy, smoke-test and package a dApp project.

Run by the worker. Each step is reported when it starts, and again as its work goes on
("compiling 2/3: DaoGovernor.sol", "smoke test 3/4: vote ✓"), with an ETA from the measured
durations of earlier jobs. The stages live in `jobs.generation`; the compiler and the EVM run
in the toolchain child, which a cancel or a step's timeout kills within a second. A heartbeat
thread tells the reaper the worker is alive.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.db import close_old_connections, connection

from jobs import progress
from jobs.generation import names, timings
from jobs.generation.compile import Artifact, CompileFailed, compile_file
from jobs.generation.deploy import Chain, Reverted, constructor_args, wire
from jobs.generation.package import artifact_files, store_project, zip_project
from jobs.generation.render import render_project
from jobs.generation.smoke import Project, SmokeFailed, smoke_checks
from jobs.generation.toolchain import (
    Cancelled,
    StepTimedOut,
    Toolchain,
    process_rss_bytes,
    shared_toolchain,
    toolchain_versions,
)
from jobs.models import Job, JobStatus
from jobs.scaffolds import TEMPLATES
from jobs.verify import CHECKS
from jobs.wire import Step

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """A generated project failed one of its checks."""


class SmokeTestFailed(Exception):
    """A check of the smoke test failed: a wrong value or a revert."""


@dataclass
class Reporter:
    """Reports one step's progress: percent within the step's share, ETA from the medians."""

    job: Job
    step: Step
    medians: dict[str, float]
    started: float = field(default_factory=time.monotonic)
    last_percent: int = 0

    def say(self, message: str, done: float = 0.0) -> None:
        """Record a progress line; `done` is how much of this step is done, 0 to 1."""
        share = 100 / self.step.total
        percent = round(share * (self.step.index - 1 + min(max(done, 0.0), 1.0)))
        self.last_percent = max(self.last_percent, percent)
        progress.job_report_progress(
            job=self.job,
            percent=self.last_percent,
            step=self.step,
            message=message,
            eta_s=self.eta_s(done),
        )

    def eta_s(self, done: float) -> int | None:
        """Return the seconds left by the medians, or None before every step was measured."""
        keys = [key for key, _, _ in STEPS]
        if any(key not in self.medians for key in keys):
            return None
        mine = self.medians[self.step.key]
        later = sum(self.medians[key] for key in keys[self.step.index :])
        current = max(mine * (1 - done), mine - self.elapsed(), 0.0)
        return round(current + later)

    def elapsed(self) -> float:
        """Return the seconds this step has run."""
        return time.monotonic() - self.started

    def time_left(self) -> float:
        """Return the seconds left before the step's timeout."""
        return max(0.1, float(settings.JOBS_STEP_TIMEOUT_S) - self.elapsed())


@dataclass
class Workspace:
    """What the steps build up for one job."""

    job: Job
    toolchain: Toolchain
    should_stop: Callable[[], bool]
    files: dict[str, str] = field(default_factory=dict)
    contracts: dict[str, str] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    chain: Chain | None = None
    artifact_name: str = ""


StepFn = Callable[[Workspace, Reporter], str]


def _render(ws: Workspace, report: Reporter) -> str:
    params = ws.job.params
    ws.files = render_project(params)
    ws.contracts = names.generated_contracts(params["name"], TEMPLATES[params["template"]], params)
    report.say(f"rendered {len(ws.files)} files; contracts {', '.join(ws.contracts.values())}", 0.5)
    for key, label, check in CHECKS:
        errors = check(ws.files)
        if errors:
            raise CheckFailed(f"{label}: {'; '.join(errors)}")
        logger.debug("job %s: %s passed", ws.job.pk, key)
    return f"{len(ws.files)} files, {len(CHECKS)} checks passed"


def _compile(ws: Workspace, report: Reporter) -> str:
    sources = [path for path in ws.files if path.endswith(".sol")]
    warnings = 0
    for index, path in enumerate(sources, start=1):
        name = PurePosixPath(path).name
        report.say(f"compiling {index}/{len(sources)}: {name}", (index - 1) / len(sources))
        result = compile_file(
            path,
            ws.files[path],
            toolchain=ws.toolchain,
            should_stop=ws.should_stop,
            timeout_s=report.time_left(),
        )
        for warning in result.warnings:
            report.say(f"compiler warning: {warning}", (index - 0.5) / len(sources))
        if result.errors:
            raise CompileFailed(result.errors)
        warnings += len(result.warnings)
        ws.artifacts.extend(result.artifacts.values())
        how = " (cached)" if result.cached else ""
        report.say(
            f"compiled {name} in {result.seconds:.1f} s{how}, {len(result.warnings)} warning(s)",
            index / len(sources),
        )
    return f"{len(sources)} file(s), {warnings} warning(s)"


def _deploy(ws: Workspace, report: Reporter) -> str:
    template = TEMPLATES[ws.job.template]
    ws.chain = chain = Chain(
        toolchain=ws.toolchain, should_stop=ws.should_stop, timeout_s=report.time_left()
    )
    chain.reset()
    by_name = {a.contract: a for a in ws.artifacts}
    order = list(ws.contracts.values())
    for index, contract in enumerate(order, start=1):
        report.say(f"deploying {index}/{len(order)}: {contract}", (index - 1) / len(order))
        chain.timeout_s = report.time_left()
        try:
            address, gas = chain.deploy(
                by_name[contract], constructor_args(template, contract, chain, ws.contracts)
            )
        except Reverted as exc:
            raise SmokeTestFailed(f"deploying {contract} reverted: {exc}") from None
        report.say(f"deployed {contract} at {address} ({gas:,} gas)", index / len(order))
    try:
        for line in wire(template, chain, ws.contracts):
            report.say(f"wired {line}", 1.0)
    except Reverted as exc:
        raise SmokeTestFailed(f"wiring the contracts reverted: {exc}") from None
    return f"{len(order)} contract(s) deployed"


def _smoke(ws: Workspace, report: Reporter) -> str:
    assert ws.chain is not None
    checks = smoke_checks(ws.job.params)
    project = Project(params=ws.job.params, contracts=ws.contracts)
    for index, (label, check) in enumerate(checks, start=1):
        ws.chain.timeout_s = report.time_left()
        try:
            detail = check(ws.chain, project)
        except (SmokeFailed, Reverted) as exc:
            raise SmokeTestFailed(
                f"smoke test {index}/{len(checks)} ({label}) failed: {exc}"
            ) from None
        report.say(f"smoke test {index}/{len(checks)}: {label} ✓ ({detail})", index / len(checks))
    return f"{len(checks)} check(s) passed"


def _package(ws: Workspace, report: Reporter) -> str:
    compiler = f"solc {toolchain_versions().solc}"
    files = {**ws.files, **artifact_files(ws.artifacts, compiler=compiler)}
    name = ws.job.download_name()
    data = zip_project(files, root=name.removesuffix(".zip"))
    ws.artifact_name = store_project(data, name=f"projects/{ws.job.pk}/{name}")
    return f"{len(files)} files, {len(data):,} bytes"


STEPS: tuple[tuple[str, str, StepFn], ...] = (
    ("render", "Render the project files", _render),
    ("compile", "Compile the contracts", _compile),
    ("deploy", "Deploy to a test chain", _deploy),
    ("smoke", "Run the smoke test", _smoke),
    ("package", "Package the project", _package),
)


def run(*, job_id: str | uuid.UUID) -> None:
    """Run the pipeline for one job to its end: succeeded, failed or cancelled."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        logger.info("job %s is %s; not running it again", job.pk, job.status)
        return
    try:
        progress.job_start(job=job)
    except progress.JobFinishedError:
        return  # cancelled while queued
    toolchain = shared_toolchain()
    with heartbeat(job.pk):
        _run_steps(job, toolchain)
    recycled = toolchain.recycle_if_large()
    logger.info(
        "job %s done: worker RSS %s MB, toolchain RSS %s MB%s",
        job.pk,
        _mb(process_rss_bytes()),
        _mb(toolchain.rss_bytes()),
        " (recycled)" if recycled else "",
    )


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 2**20:.0f}"


def _run_steps(job: Job, toolchain: Toolchain) -> None:
    ws = Workspace(job=job, toolchain=toolchain, should_stop=lambda: _cancel_requested(job))
    medians = timings.median_durations(job.template)
    durations: dict[str, float] = {}
    try:
        for index, (key, label, fn) in enumerate(STEPS, start=1):
            if _cancel_requested(job):
                raise Cancelled
            report = Reporter(
                job=job,
                step=Step(key=key, label=label, index=index, total=len(STEPS)),
                medians=medians,
            )
            report.say(f"{label}…")
            detail = fn(ws, report)
            durations[key] = report.elapsed()
            logger.info("job %s step %s in %.2f s: %s", job.pk, key, durations[key], detail)
            _pace(report.elapsed())
        timings.record_durations(job.template, durations)
        progress.job_complete(job=job, artifact_name=ws.artifact_name)
    except Cancelled:
        _finish_cancelled(job)
    except progress.JobFinishedError:
        logger.info("job %s was finished elsewhere (reaped?); stopping", job.pk)
    except Exception as exc:
        logger.exception("job %s failed", job.pk)
        _finish_failed(job, exc)


def _pace(elapsed: float) -> None:
    """Stretch a step to JOBS_STEP_PACE_S (an opt-in demo pace; 0 by default)."""
    time.sleep(max(0.0, settings.JOBS_STEP_PACE_S - elapsed))


def _finish_cancelled(job: Job) -> None:
    try:
        progress.job_finish_cancelled(job=job)
    except progress.JobFinishedError:
        logger.info("job %s was finished elsewhere while cancelling", job.pk)


def _finish_failed(job: Job, exc: Exception) -> None:
    try:
        progress.job_fail(job=job, error=_describe(exc))
    except progress.JobFinishedError:
        logger.info("job %s was finished elsewhere while failing", job.pk)


def _describe(exc: Exception) -> str:
    if isinstance(exc, CompileFailed):
        return f"The contracts do not compile: {exc}"
    if isinstance(exc, SmokeTestFailed):
        return f"The smoke test failed: {exc}"
    if isinstance(exc, CheckFailed):
        return f"The generated project failed a check: {exc}"
    if isinstance(exc, StepTimedOut):
        return f"A step took too long: {exc}"
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
                if not progress.job_heartbeat(job_id=job_id):
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
