"""Lighthouse (pinned in a11y/package-lock.json, run on Debian's chromium through CHROME_PATH,
nothing downloaded): accessibility and best practices at least 95 on the wizard, a job page
and the live dashboard. About 15 s a page."""

import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser

from jobs import services
from jobs.wire import Step
from tests.support.browser import CHROMIUM
from tests.support.servers import ROOT, WebServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIGHTHOUSE = ROOT / "a11y" / "node_modules" / ".bin" / "lighthouse"
RUNNER = ROOT / "a11y" / "lighthouse.mjs"
"""Sets the session cookies in the browser, then runs Lighthouse on the page."""
CATEGORIES = ("accessibility", "best-practices")
FLOOR = 0.95
ARTIFACTS = ROOT / "test-artifacts" / "lighthouse"


def lighthouse(url: str, *, name: str, cookies: dict[str, str] | None = None) -> dict[str, Any]:
    """Run Lighthouse on `url`, signed in with `cookies`; return its report (kept in
    test-artifacts/lighthouse/)."""
    assert LIGHTHOUSE.exists(), "Lighthouse missing: scripts/test runs npm ci in a11y/"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = ARTIFACTS / f"{name}.json"
    done = subprocess.run(
        ["node", str(RUNNER), url, str(report), json.dumps(cookies or {})],
        env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def scores(report: dict[str, Any]) -> dict[str, float]:
    return {key: report["categories"][key]["score"] for key in CATEGORIES}


def failed_audits(report: dict[str, Any]) -> list[str]:
    """Return the audits that lost points, in words (for the assertion's message)."""
    return [
        f"{audit['id']}: {audit['title']}"
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit["scoreDisplayMode"] in {"binary", "numeric"}
    ]


@pytest.fixture
def web(start_web: Callable[..., WebServer]) -> WebServer:
    return start_web()


def test_the_wizard_scores_at_least_95(web: WebServer):
    report = lighthouse(f"{web.url}/wizard/basics/", name="wizard")
    assert min(scores(report).values()) >= FLOOR, (scores(report), failed_audits(report))


def test_a_running_jobs_page_scores_at_least_95(
    web: WebServer, owner: AbstractUser, session_cookies: Callable[[Any], dict[str, str]]
):
    job = services.job_create(owner=owner, params={"name": "Lighthouse Coin", "template": "token"})
    services.job_start(job=job)
    step = Step(key="compile", label="Compile the contracts", index=3, total=6)
    services.job_report_progress(job=job, percent=40, step=step, message="compiling 1/2")
    report = lighthouse(f"{web.url}/jobs/{job.pk}/", name="job", cookies=session_cookies(owner))
    assert report["finalDisplayedUrl"].endswith(f"/jobs/{job.pk}/")
    assert min(scores(report).values()) >= FLOOR, (scores(report), failed_audits(report))


def test_the_live_dashboard_scores_at_least_95(
    web: WebServer, staff_user: AbstractUser, session_cookies: Callable[[Any], dict[str, str]]
):
    services.job_create(owner=staff_user, params={"name": "Seen Coin", "template": "token"})
    cookies = session_cookies(staff_user)
    report = lighthouse(f"{web.url}/dashboard/", name="dashboard", cookies=cookies)
    assert report["finalDisplayedUrl"].endswith("/dashboard/"), "not signed in?"
    assert min(scores(report).values()) >= FLOOR, (scores(report), failed_audits(report))


def test_lighthouse_is_the_pinned_version():
    lock = json.loads((ROOT / "a11y" / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/lighthouse"]["version"]
    done = subprocess.run(
        [str(LIGHTHOUSE), "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == pinned
