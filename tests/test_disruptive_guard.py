"""The tests that restart the machine's PostgreSQL run only when asked: a plain pytest of
their file, or one with an `-m` of its own, skips them (tests/conftest.py). So do the
full-length fault scenarios, unless `-m` names them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESTARTING = "tests/composer_realtime/test_postgres_restart.py"


@pytest.mark.parametrize("selection", [[], ["-m", "not browser"]])
def test_a_run_that_did_not_ask_skips_the_disruptive_tests(selection):
    env = {k: v for k, v in os.environ.items() if k != "RUN_DISRUPTIVE"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            RESTARTING,
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            *selection,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "RUN_DISRUPTIVE=1 runs it" in done.stdout
    assert " skipped" in done.stdout and " passed" not in done.stdout, done.stdout[-2000:]


FULL_LENGTH = "tests/realtime/test_redis_freeze.py"


def test_the_full_length_fault_scenarios_run_only_when_named():
    """`scripts/test` (CI) runs one short freeze a day; the other, and the 30 s ones, need
    `-m faults`."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", FULL_LENGTH, "-k", "30s", "-q", "-rs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2 skipped" in done.stdout and "`-m faults` runs it" in done.stdout, done.stdout
    asked = subprocess.run(
        [sys.executable, "-m", "pytest", FULL_LENGTH, "-m", "faults", "--co", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "3/5 tests collected" in asked.stdout, asked.stdout[-2000:]
    assert asked.stdout.count("[30s-") == 2, asked.stdout[-2000:]
