"""How long each step of a template usually takes: medians over its recent successful jobs.

Read from the jobs' own events (a step runs from its first event to the next step's first, or
to the end), with the same rule as the job page's timeline, so that a step's duration and its
usual duration are measured alike. Two small queries: the last jobs, then their steps' starts.
"""

import statistics
import uuid
from collections import defaultdict
from datetime import datetime

from django.db.models import Min
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from jobs.models import Job, JobEvent, JobStatus

SAMPLE = 30
"""The successful jobs of a template whose steps are measured."""


def step_medians(*, template: str, exclude: uuid.UUID | None = None) -> dict[str, float]:
    """Return the median seconds of each step over the template's last `SAMPLE` successful
    jobs (but `exclude`); a step none of them ran is absent."""
    jobs = Job.objects.filter(template=template, status=JobStatus.SUCCEEDED)
    if exclude is not None:
        jobs = jobs.exclude(pk=exclude)
    finished = dict(jobs.order_by("-created_at").values_list("pk", "finished_at")[:SAMPLE])
    if not finished:
        return {}
    starts = (
        JobEvent.objects.filter(job_id__in=list(finished), payload__step__isnull=False)
        .order_by()
        .values_list("job_id", KeyTextTransform("key", KeyTransform("step", "payload")))
        .annotate(start=Min("created_at"))
    )
    per_job: dict[uuid.UUID, list[tuple[datetime, str]]] = defaultdict(list)
    for job_id, key, start in starts:
        if key:
            per_job[job_id].append((start, key))
    samples: dict[str, list[float]] = defaultdict(list)
    for job_id, steps in per_job.items():
        for key, took in _durations(sorted(steps), finished[job_id]):
            samples[key].append(took)
    return {key: statistics.median(values) for key, values in samples.items()}


def _durations(steps: list[tuple[datetime, str]], end: datetime | None) -> list[tuple[str, float]]:
    ends = [start for start, _ in steps[1:]] + [end]
    return [
        (key, (stop - start).total_seconds())
        for (start, key), stop in zip(steps, ends, strict=True)
        if stop is not None
    ]
