"""Schemathesis, a tool nobody here wrote, against a live server: no 5xx, and every answer
(status, content type, headers, body, each SSE event) is one the OpenAPI document describes.

Smoke size: a bounded number of examples per operation, a fixed seed, one worker, all four
phases (examples, coverage, fuzzing, and stateful runs that follow the document's links from
a created job to its status, stream, download and cancel). The run authenticates with a real
API token of a user who owns a finished job, whose zip the download operation is given.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from api import services as token_services
from tests.support.jobs import succeeded_job

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
MAX_EXAMPLES = 15
SEED = 15


def schemathesis_run(
    url: str, token: str, workdir: Path, *, max_examples: int = MAX_EXAMPLES, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run Schemathesis's CLI against `url`'s document, as a person would from a shell."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(workdir / "schemathesis.toml"),
        "run",
        f"{url}/api/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--no-shrink",
        "--header",
        f"Authorization: Bearer {token}",
    ]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False
    )


def write_config(workdir: Path, *, download_job_id: str) -> None:
    """Give the download operation the id of a job that has a zip (else it only meets 404s)."""
    (workdir / "schemathesis.toml").write_text(
        '[[operations]]\ninclude-operation-id = "downloadJob"\n'
        f'parameters = {{ job_id = "{download_job_id}" }}\n'
    )


def test_schemathesis_finds_no_server_error_and_nothing_off_the_document(
    start_web, owner, tmp_path: Path
) -> None:
    # Polls unlimited: the rate limit is not what is fuzzed. Streams end after a second: the
    # fuzzer reads each answer to its end, and a job without a worker never ends.
    web = start_web(REALTIME_POLL_RATE="0", REALTIME_MAX_STREAM_AGE_S="1")
    media = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media")},
    }  # the server's (server_env)
    with override_settings(STORAGES={"default": media, "staticfiles": media}):
        job = succeeded_job(owner=owner)
    _, secret = token_services.token_create(user=owner, name="schemathesis")
    write_config(tmp_path, download_job_id=str(job.pk))

    result = schemathesis_run(web.url, secret, tmp_path)

    print(result.stdout[-6000:])  # the summary, shown with -s or on failure
    assert result.returncode == 0, (result.stdout + result.stderr)[-8000:]
    assert "Missing test data" not in result.stdout  # every operation met real data
    assert ", 0 passed" not in result.stdout
