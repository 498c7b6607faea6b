"""The real pipeline: every template renders, compiles, deploys, passes its smoke test and is
packaged with its artifacts; a compile error fails the job with located diagnostics; a cancel
mid-compile ends it cancelled."""

import io
import json
import re
import threading
import time
import uuid
import zipfile
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from jobs import pipeline, services
from jobs.generation.names import generated_contracts, project_slug
from jobs.models import EventType, Job, JobEvent, JobStatus
from jobs.scaffolds import TEMPLATES, template_defaults
from tests.support.projects import params_for

pytestmark = pytest.mark.django_db


def run(params: dict[str, Any]) -> Job:
    job = services.job_create(owner=None, params=params)
    pipeline.run(job_id=job.pk)
    job.refresh_from_db()
    return job


def messages(job: Job) -> list[str]:
    return [e.payload["message"] for e in JobEvent.objects.filter(job=job).order_by("seq")]


def unzip(job: Job) -> dict[str, str]:
    with default_storage.open(job.artifact.name) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    return {name: archive.read(name).decode() for name in archive.namelist()}


SMOKE_CHECKS = {
    ("token", "defaults"): ["supply", "transfer"],
    ("token", "other"): ["supply", "transfer", "burn"],
    ("nft", "defaults"): ["mint", "tokenURI", "wrong payment", "metadata"],
    ("nft", "other"): [
        "mint",
        "tokenURI",
        "wrong payment",
        "wallet cap",
        "metadata",
        "withdraw",
        "royalties",
    ],
    ("dao", "defaults"): ["delegate", "threshold", "propose", "vote", "tally and execute"],
    ("dao", "other"): ["delegate", "threshold", "propose", "vote", "tally and execute"],
    ("escrow", "defaults"): ["deposit", "release", "refund", "deadline"],
    ("escrow", "other"): ["deposit", "release", "refund", "deadline"],
}


@pytest.mark.parametrize("variant", ["defaults", "other"])
@pytest.mark.parametrize("key", TEMPLATES)
def test_every_template_compiles_deploys_passes_its_smoke_test_and_ships_artifacts(key, variant):
    params = params_for(key, variant, "Pipeline Check")
    job = run(params)
    assert job.status == JobStatus.SUCCEEDED, job.error
    shown = messages(job)
    assert any(m.startswith("compiling 1/") for m in shown), shown
    passed = [re.sub(r"^smoke test \d+/\d+: (.*) ✓ .*$", r"\1", m) for m in shown if "✓" in m]
    assert passed == SMOKE_CHECKS[key, variant], shown
    if (key, variant) == ("dao", "other"):
        assert any("wired" in m and "renounced" in m for m in shown), shown
        assert any("after a 3,600 s timelock" in m for m in shown), shown
    percents = [e.payload["percent"] for e in JobEvent.objects.filter(job=job).order_by("seq")]
    assert percents == sorted(percents)

    files = unzip(job)
    root = f"pipeline-check-{key}/"
    assert all(name.startswith(root) for name in files)
    contracts = generated_contracts("Pipeline Check", TEMPLATES[key], job.params).values()
    for contract in contracts:
        artifact = json.loads(files[f"{root}build/contracts/{contract}.json"])
        assert artifact["abi"] and len(artifact["bytecode"]) > 1000, contract
    assert any(name.startswith(f"{root}test/") for name in files)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ERC20", "token"),
        ("Governor", "dao"),
        ("ERC721", "nft"),
        ("Élan Vital", "nft"),
        ('Don\'t <b>break</b> "quotes" & */', "escrow"),
        ("Café d'Élan", "nft"),
        ("Run `npm run pwn` <!-- then", "token"),
    ],
)
def test_names_that_broke_generation_now_build(name, key):
    job = run({"name": name, "template": key, "description": name})
    assert job.status == JobStatus.SUCCEEDED, job.error
    root = job.download_name().removesuffix(".zip")
    assert json.loads(unzip(job)[f"{root}/package.json"])["name"] == project_slug(name)


@pytest.mark.parametrize(
    ("name", "key", "zip_name"),
    [
        ("Harbor Commons DAO", "dao", "harbor-commons-dao.zip"),
        ("Harbor Coin", "token", "harbor-coin-token.zip"),
        ("NFT Drop", "nft", "nft-drop.zip"),
    ],
)
def test_the_zip_name_says_the_template_once(name, key, zip_name):
    job = services.job_create(owner=None, params={"name": name, "template": key})
    assert job.download_name() == zip_name


def test_a_compile_error_fails_the_job_with_the_first_diagnostic(monkeypatch):
    render = pipeline.render_project

    def broken(params: dict[str, Any]) -> dict[str, str]:
        files = render(params)
        files["contracts/Token.sol"] = files["contracts/Token.sol"].replace(
            "_mint(msg.sender", "_mintt(msg.sender"
        )
        return files

    monkeypatch.setattr(pipeline, "render_project", broken)
    job = run({"name": f"Broken {uuid.uuid4().hex[:6]}", "template": "token"})
    assert job.status == JobStatus.FAILED
    error = JobEvent.objects.get(job=job, type=EventType.ERROR_NOTIFICATION).payload["message"]
    assert error.startswith("The contracts do not compile: contracts/Token.sol:"), error
    assert "DeclarationError: Undeclared identifier" in error
    assert job.error == error


def test_progress_carries_an_eta_once_the_template_was_measured():
    run({"name": "Eta Coin", "template": "token"})
    second = run({"name": "Eta Coin", "template": "token"})
    etas = [
        e.payload["eta_s"]
        for e in JobEvent.objects.filter(job=second, type=EventType.PROGRESS_UPDATE)
    ]
    assert etas and all(isinstance(eta, int) and eta >= 0 for eta in etas), etas


@pytest.mark.django_db(transaction=True)
def test_cancel_during_a_compile_ends_the_job_cancelled():
    params = {
        **template_defaults("dao"),
        "name": f"Cancel {uuid.uuid4().hex[:8]}",
        "template": "dao",
    }  # a fresh name: nothing cached
    job = services.job_create(owner=None, params=params)

    def work() -> None:
        try:
            pipeline.run(job_id=job.pk)
        finally:
            connection.close()  # the thread's own connection, or the test database stays busy

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 60
    while not Job.objects.get(pk=job.pk).message.startswith("compiling"):
        assert time.monotonic() < deadline, "the compile never started"
        time.sleep(0.05)
    services.job_request_cancel(job=job)
    worker.join(timeout=30)
    assert not worker.is_alive()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert not any(m.startswith("compiled DaoGovernor") for m in messages(job))


HOSTILE = (
    '1st "quoted" \'single\' back\\slash \\" </script><script>alert(1)</script> '
    "ünïcødé ☃ 日本 {{ not_a_variable }} {% comment %}\nsecond line */"
)


@pytest.mark.parametrize("key", TEMPLATES)
def test_hostile_text_through_the_service_still_builds(key):
    """The service takes any name (the forms are stricter): it must still compile and pass."""
    job = run({"name": HOSTILE[:100], "template": key, "description": HOSTILE, "author": HOSTILE})
    assert job.status == JobStatus.SUCCEEDED, job.error
