"""The command runner's scripts: what they do before they install anything."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ROOT

DJANGOS_OWN = {
    "--help",
    "--version",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}
"""The options every management command has."""


def test_run_help_prints_every_option_of_compose_without_installing(tmp_path: Path):
    """A fresh checkout (no .venv) asked for help answers at once and is left as it was."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("run", "_python.sh", "_deps.sh"):
        shutil.copy(ROOT / "scripts" / name, scripts / name)

    done = subprocess.run(
        ["bash", str(scripts / "run"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "scripts/run [--host ADDR]" in done.stdout and not done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scripts"], "it installed something"
    compose = subprocess.run(
        [sys.executable, "manage.py", "compose", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    options = set(re.findall(r"--[a-z][a-z-]*", compose)) - DJANGOS_OWN
    assert {"--host", "--port", "--workers", "--no-worker"} <= options
    for option in options:
        assert option in done.stdout, option
