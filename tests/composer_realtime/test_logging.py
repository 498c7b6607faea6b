"""Logging: every line once, whichever logger writes it."""

import logging

import pytest


def _writers(name: str) -> list[logging.Handler]:
    """Return the handlers a record of `name` reaches (pytest's own capture left out)."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        found += [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]
        logger = logger.parent if logger.propagate else None
    return found


@pytest.mark.parametrize(
    "name",
    ["django.tasks", "django_tasks_db", "jobs.pipeline", "realtime.presence", "django.request"],
)
def test_a_log_line_reaches_one_console_handler(name):
    writers = [h for h in _writers(name) if isinstance(h, logging.StreamHandler)]
    assert len(writers) == 1, writers
