"""The daily purge as documented: the systemd units verify, the cron lines are well formed,
and every command either names runs."""

import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.support.servers import ROOT

UNITS = ROOT / "deploy" / "systemd"
DOC = ROOT / "docs" / "deployment.md"
CHECKOUT = "/srv/composer"
"""Where the units and the cron lines expect the checkout."""
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def _service_commands() -> list[list[str]]:
    text = (UNITS / "composer-purge.service").read_text()
    return [
        shlex.split(line.split("=", 1)[1])
        for line in text.splitlines()
        if line.startswith("ExecStart=")
    ]


def _cron_lines() -> list[str]:
    block = re.search(r"```crontab\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert block, "no crontab block in docs/deployment.md"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def _cron_commands() -> list[list[str]]:
    commands = []
    for line in _cron_lines():
        fields = line.split(None, 5)
        assert len(fields) == 6, line
        assert all(CRON_FIELD.match(field) for field in fields[:5]), line
        assert fields[5].startswith(f"cd {CHECKOUT} && .venv/bin/python manage.py "), line
        commands.append(shlex.split(fields[5].split(" && ", 1)[1]))
    return commands


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_systemd_units_verify(tmp_path: Path):
    """With the checkout's paths put in, as an operator's own would be."""
    for unit in ("composer-purge.service", "composer-purge.timer"):
        text = (UNITS / unit).read_text().replace(CHECKOUT, str(ROOT))
        (tmp_path / unit).write_text(re.sub(r"(?m)^User=.*$", "User=root", text))
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    timer = (UNITS / "composer-purge.timer").read_text()
    assert "OnCalendar=*-*-* 03:30:00" in timer and "Unit=" not in timer  # its own service


def test_cron_and_systemd_run_the_same_purges():
    service = [command[1:] for command in _service_commands()]  # without the interpreter
    cron = [command[1:] for command in _cron_commands()]
    assert service == cron
    assert [command[1] for command in service] == ["purge_old", "purge_drafts"]


@pytest.mark.django_db
@pytest.mark.parametrize("command", [c[2:] for c in _service_commands()], ids=lambda c: c[0])
def test_every_scheduled_command_runs(command: list[str], settings, tmp_path: Path):
    settings.JOBS_BUILD_CACHE_DIR = str(tmp_path / "build-cache")
    out = io.StringIO()
    call_command(*command, stdout=out)
    assert out.getvalue().strip()
