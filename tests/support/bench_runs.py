"""Run a benchmark module end to end, as its smoke tests do: `python -m <module> …` from the
repository's root, in a scratch database of this test run's own, its figures read back from
the JSON file it writes."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.databases import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def run_bench(
    module: str, *args: str, database: str, out: Path, timeout_s: float
) -> tuple[dict[str, Any], str]:
    """Run `python -m module *args --database <scratch database> --json out`; assert that it
    exited 0; return what it wrote to `out` and what it printed."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            *args,
            "--database",
            scratch_database(database),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout
