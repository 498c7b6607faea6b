"""System checks for generation: the toolchain must be installed for any job to succeed."""

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_generation_settings(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Return problems that would fail every generation job."""
    problems: list[CheckMessage] = []
    if settings.JOBS_STEP_TIMEOUT_S <= 0:
        problems.append(Error("JOBS_STEP_TIMEOUT_S must be positive.", id="jobs.E001"))
    if not 0 <= settings.JOBS_WORKER_NICE <= 19:
        problems.append(
            Error(
                "JOBS_WORKER_NICE must be a niceness from 0 to 19, "
                f"not {settings.JOBS_WORKER_NICE}.",
                id="jobs.E002",
            )
        )
    if settings.JOBS_COMPILER_IDLE and not hasattr(os, "SCHED_IDLE"):
        problems.append(
            Error(
                "JOBS_COMPILER_IDLE needs Linux's SCHED_IDLE scheduling policy, "
                "which this system lacks.",
                hint="Set JOBS_COMPILER_IDLE=false (the compiler then runs at JOBS_WORKER_NICE).",
                id="jobs.E003",
            )
        )
    if shutil.which(settings.JOBS_NODE) is None:
        problems.append(
            Warning(
                f"JOBS_NODE ({settings.JOBS_NODE}) is not an executable: every job will fail.",
                hint="Install Node.js (apt-get install nodejs npm); scripts/run does.",
                id="jobs.W001",
            )
        )
    if not (Path(settings.JOBS_TOOLCHAIN_DIR) / "node_modules" / "solc").is_dir():
        problems.append(
            Warning(
                f"The generation toolchain is not installed in {settings.JOBS_TOOLCHAIN_DIR}: "
                "every job will fail.",
                hint="Run `npm ci` there; scripts/run does.",
                id="jobs.W002",
            )
        )
    return problems
