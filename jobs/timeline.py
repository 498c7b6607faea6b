"""The job page's timeline: each step's state, start, duration and detail lines, from the events.

One vocabulary of step states, defined here and handed to the page's script (data-* on its
tag), so the server's first render and the live updates can never disagree. The rule, applied
the same way by static/composer/job.js: a step starts at the first event carrying it and ends
at the first event of a later step or at the final event; its detail lines are the messages of
the events in between (the opening "Label…" line excepted: it only repeats the step's name,
and the raw error too: the page shows it once, with what went wrong in plain words). Once a
job failed or was cancelled, the steps that never ran are "skipped".
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models

from jobs.models import EventType, JobStatus
from jobs.wire import WireEvent


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    STOPPED = "stopped", "Stopped"
    SKIPPED = "skipped", "Skipped"


ICONS: dict[str, str] = {
    StepState.PENDING: "○",
    StepState.RUNNING: "◔",
    StepState.DONE: "✓",
    StepState.FAILED: "✕",
    StepState.STOPPED: "■",
    StepState.SKIPPED: "↷",
}
"""A shape per state, so that no state is told by colour alone."""

STATUS_STATES: dict[str, str] = {
    JobStatus.QUEUED: StepState.PENDING,
    JobStatus.RUNNING: StepState.RUNNING,
    JobStatus.CANCELLING: StepState.RUNNING,
    JobStatus.SUCCEEDED: StepState.DONE,
    JobStatus.FAILED: StepState.FAILED,
    JobStatus.CANCELLED: StepState.STOPPED,
}
"""The look (state) of the job as a whole, and of its current step, by job status."""


@dataclass(kw_only=True, slots=True)
class StepView:
    """One step as the page shows it."""

    key: str
    """The step's stable key."""
    label: str
    """What a person reads."""
    index: int
    """Position, from 1."""
    state: str = StepState.PENDING
    """A StepState value."""
    started: datetime | None = None
    """When its first event was recorded."""
    ended: datetime | None = None
    """When the next step's first event, or the final event, was recorded."""
    details: list[str] = field(default_factory=list)
    """Messages of the events within the step."""
    usual_s: float | None = None
    """The template's median duration of this step, from its recent successful jobs."""

    @property
    def icon(self) -> str:
        """Return the shape of the state."""
        return ICONS[self.state]

    @property
    def state_label(self) -> str:
        """Return the state in words."""
        return StepState(self.state).label

    @property
    def duration_s(self) -> float | None:
        """Return how long the step took (None while it runs or before it starts)."""
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started).total_seconds()

    @property
    def duration_text(self) -> str:
        """Return the duration as the page writes it ("" when there is none yet)."""
        return duration_text(self.duration_s)

    @property
    def usual_text(self) -> str:
        """Return the template's median duration as the page writes it ("" if unknown)."""
        return duration_text(self.usual_s)

    @property
    def is_open(self) -> bool:
        """Return True when its details start unfolded: the running and the failed step."""
        return self.state in {StepState.RUNNING, StepState.FAILED}


def duration_text(seconds: float | None) -> str:
    """Return "0.4 s", "12 s" or "2 min 05 s" (the same as job.js writes); "" for None."""
    if seconds is None:
        return ""
    if seconds < 9.95:  # would round up to "10.0 s"
        return f"{seconds:.1f} s"
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def timeline_build(
    *,
    steps: Iterable[tuple[str, str]],
    events: Sequence[WireEvent],
    status: str,
    usual: Mapping[str, float] | None = None,
) -> list[StepView]:
    """Return the steps (key, label, in order) with what `events` say of each, and each
    step's `usual` (median) duration."""
    usual = usual or {}
    views = [
        StepView(key=key, label=label, index=i, usual_s=usual.get(key))
        for i, (key, label) in enumerate(steps, 1)
    ]
    current: StepView | None = None
    for event in events:
        index = (event.step or {}).get("index")
        if event.type == EventType.COMPLETION_STATUS:
            _end(current, event.ts, StepState.DONE)
            current = None
            break
        if (
            index is not None
            and (current is None or index > current.index)
            and 0 < index <= len(views)
        ):
            _end(current, event.ts, StepState.DONE)
            current = views[index - 1]
            current.started, current.state = event.ts, StepState.RUNNING
            if event.message and event.message != f"{current.label}…":
                current.details.append(event.message)
        elif current is not None and event.message and event.type != EventType.ERROR_NOTIFICATION:
            current.details.append(event.message)
    _settle(views, status, current)
    return views


def _end(step: StepView | None, at: datetime, state: str) -> None:
    if step is not None:
        step.ended, step.state = at, state


def _settle(views: list[StepView], status: str, running: StepView | None) -> None:
    """Mark the step that was running when the job ended by how the job ended."""
    if status == JobStatus.SUCCEEDED:
        for view in views:
            view.state = StepState.DONE
        return
    if status not in JobStatus.finished():
        return
    interrupted = running or _last_started(views)
    if interrupted is not None:
        interrupted.state = STATUS_STATES[status]
    for view in views:
        if view.state == StepState.PENDING:
            view.state = StepState.SKIPPED


def _last_started(views: list[StepView]) -> StepView | None:
    started = [view for view in views if view.started is not None]
    return started[-1] if started else None


def vocabulary() -> dict[str, Any]:
    """Return the words and shapes the page's script uses, from the one definition here."""
    return {
        "steps": {state.value: {"label": state.label, "icon": ICONS[state]} for state in StepState},
        "statuses": {
            status.value: {"label": status.label, "state": STATUS_STATES[status]}
            for status in JobStatus
        },
    }
