"""Measured step durations, per template and step, from which the ETAs are computed.

Kept as a small JSON file beside the compile cache, so that they survive restarts and every
worker of a machine learns from the others. Two workers writing at once may lose one
measurement; an ETA needs a median, not every sample.
"""

import json
import os
import statistics
import tempfile
from pathlib import Path

from django.conf import settings

KEEP = 15
"""Samples kept per template and step: the median follows changes within a few jobs."""


def _path() -> Path:
    return Path(settings.JOBS_BUILD_CACHE_DIR) / "timings.json"


def _load() -> dict[str, dict[str, list[float]]]:
    try:
        data: dict[str, dict[str, list[float]]] = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data


def median_durations(template: str) -> dict[str, float]:
    """Return the running median duration of each step of a template, in seconds."""
    return {
        step: statistics.median(samples)
        for step, samples in _load().get(template, {}).items()
        if samples
    }


def record_durations(template: str, durations: dict[str, float]) -> None:
    """Add one job's step durations to the template's samples."""
    data = _load()
    steps = data.setdefault(template, {})
    for step, seconds in durations.items():
        steps[step] = [*steps.get(step, []), round(seconds, 3)][-KEEP:]
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp"
    ) as handle:
        json.dump(data, handle)
    os.replace(handle.name, path)
