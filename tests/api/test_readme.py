"""The README's API section, run as written: every command of it, against a real server and
worker, on a database where the user `alice` does not exist yet; and its recipes are the
files the fault tests run (tests/faults/test_programs.py)."""

import io
import subprocess
import zipfile

import pytest

from api.models import ApiToken
from jobs.models import Job
from tests.support.recipes import (
    RECIPE_FILES,
    event_seq,
    readme_recipes,
    readme_section,
    shell_blocks,
)
from tests.support.servers import ROOT

SECTION = "The API for programs (CI jobs, scripts, other services)"
LEFT_BEHIND = (
    "job.json",
    "headers.txt",
    "project.zip",
)  # what the commands write, as a person's would


def test_each_recipe_in_the_readme_is_the_file_the_tests_run() -> None:
    recipes = readme_recipes()

    assert sorted(recipes) == sorted(RECIPE_FILES.values())
    for path, code in recipes.items():
        assert code == (ROOT / path).read_text(), f"README.md and {path} differ"


def test_the_stall_rule_is_stated_where_programs_read_it(client) -> None:
    section = readme_section(SECTION)
    events = client.get("/api/openapi.json").json()["paths"]["/api/jobs/{job_id}/events"]["get"]

    for text in (section, events["description"]):
        assert "two heartbeats" in text and "Last-Event-ID" in text
        assert "no `ready` within a few" in text.replace("\n", " ")


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the README revokes token 1
def test_every_command_of_the_api_section_runs_as_written(
    start_web, start_worker, server_env, django_user_model
) -> None:
    assert not django_user_model.objects.filter(username="alice").exists()
    web = start_web()
    start_worker()
    script = "\n".join(shell_blocks(readme_section(SECTION)))
    env = {**server_env("readme"), "BASE": web.url}
    for name in LEFT_BEHIND:
        assert not (ROOT / name).exists(), f"{name} is in the way in {ROOT}"
    try:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        project = (ROOT / "project.zip").read_bytes()
    finally:
        for name in LEFT_BEHIND:
            (ROOT / name).unlink(missing_ok=True)

    job = Job.objects.get(owner__username="alice")
    every_seq = list(range(1, job.last_seq + 1))
    printed = [seq for line in done.stdout.splitlines() if (seq := event_seq(line)) is not None]
    assert printed == every_seq * 3, done.stdout  # curl, then httpx, then Node
    assert "\n304\n" in done.stdout
    assert zipfile.ZipFile(io.BytesIO(project)).namelist()
    token = ApiToken.objects.get(pk=1)
    assert token.user.username == "alice" and token.name == "ci" and token.state == "revoked"
    assert not token.user.has_usable_password() and not token.user.is_staff
