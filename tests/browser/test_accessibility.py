"""Accessibility, checked by axe-core on every page and state people and staff see: each wizard
step (and one with errors), a job queued, running, finished, failed and cancelled, the live
dashboard, and the admin pages staff use. No serious or critical violation is allowed.

axe-core is pinned in a11y/package-lock.json (scripts/test runs `npm ci` there) and injected
into each page by Playwright; the context bypasses the page's Content-Security-Policy for that
one script (the policy allows no inline script, as it should in production).
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AbstractUser
from playwright.sync_api import Browser, BrowserContext, Page

from jobs import services
from jobs.models import Job, JobStatus
from jobs.wire import Step
from tests.support.jobs import succeeded_job
from tests.support.servers import ROOT, WebServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
ARTIFACTS = ROOT / "test-artifacts" / "a11y"


@pytest.fixture
def web(start_web: Callable[..., WebServer]) -> WebServer:
    return start_web()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def violations(page: Page, name: str) -> list[str]:
    """Run axe on the page as it is now; return its serious and critical violations, in words
    (and keep the whole report and a screenshot in test-artifacts/a11y/)."""
    assert AXE.exists(), "axe-core missing: scripts/test runs npm ci in a11y/"
    page.add_script_tag(path=str(AXE))
    report = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(report["violations"], indent=1))
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    return [
        f"{v['impact']} {v['id']}: {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in report["violations"]
        if v["impact"] in BLOCKING
    ]


def sign_in(context: BrowserContext, web: WebServer, cookies: dict[str, str]) -> None:
    context.add_cookies(
        [{"name": name, "value": value, "url": web.url} for name, value in cookies.items()]
    )


def test_every_wizard_step_has_no_serious_violation(web: WebServer, context: BrowserContext):
    page = context.new_page()
    found = {}
    page.goto(f"{web.url}/wizard/basics/")
    found["wizard-basics"] = violations(page, "wizard-basics")
    page.click(".wizard-actions button[type=submit]")
    page.wait_for_url("**/wizard/basics/")
    found["wizard-basics-errors"] = violations(page, "wizard-basics-errors")
    page.fill("input[name=name]", "Accessible Coin")
    page.click(".wizard-actions button[type=submit]")
    page.wait_for_url("**/wizard/template/")
    found["wizard-template"] = violations(page, "wizard-template")
    page.check("input[name=template][value=token]", force=True)
    page.click(".wizard-actions button[type=submit]")
    page.wait_for_url("**/wizard/options/")
    found["wizard-options"] = violations(page, "wizard-options")
    page.click(".wizard-actions button[type=submit]")
    page.wait_for_url("**/wizard/review/")
    found["wizard-review"] = violations(page, "wizard-review")
    assert {name: v for name, v in found.items() if v} == {}


def _job_in(status: str, owner: AbstractUser) -> Job:
    params = {"name": f"A11y {status.title()}", "template": "token"}
    if status == JobStatus.SUCCEEDED:
        return succeeded_job(owner=owner, params=params)
    job = services.job_create(owner=owner, params=params)
    if status == JobStatus.QUEUED:
        return job
    services.job_start(job=job)
    step = Step(key="compile", label="Compile the contracts", index=3, total=6)
    services.job_report_progress(job=job, percent=40, step=step, message="compiling 1/2")
    if status == JobStatus.FAILED:
        services.job_fail(job=job, error="Token.sol:3: ParserError: Expected ';'")
    elif status == JobStatus.CANCELLED:
        services.job_request_cancel(job=job)
        services.job_finish_cancelled(job=job)
    return job


@pytest.mark.parametrize(
    "status",
    [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    ],
)
def test_a_job_page_in_every_state_has_no_serious_violation(
    status: str,
    web: WebServer,
    context: BrowserContext,
    owner: AbstractUser,
    session_cookies: Callable[[Any], dict[str, str]],
):
    job = _job_in(status, owner)
    sign_in(context, web, session_cookies(owner))
    page = context.new_page()
    page.goto(f"{web.url}/jobs/{job.pk}/")
    page.wait_for_selector("#connection[data-state]")
    page.wait_for_timeout(500)  # the live client has drawn the state it was given
    assert violations(page, f"job-{status}") == []


def test_the_live_dashboard_has_no_serious_violation(
    web: WebServer,
    context: BrowserContext,
    staff_user: AbstractUser,
    owner: AbstractUser,
    session_cookies: Callable[[Any], dict[str, str]],
):
    for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED):
        _job_in(status, owner)
    sign_in(context, web, session_cookies(staff_user))
    page = context.new_page()
    page.goto(f"{web.url}/dashboard/")
    page.wait_for_function("document.querySelector('[data-state=live]') !== null")
    assert violations(page, "dashboard-live") == []


def test_the_admin_pages_staff_use_have_no_serious_violation(
    web: WebServer,
    context: BrowserContext,
    staff_user: AbstractUser,
    owner: AbstractUser,
    session_cookies: Callable[[Any], dict[str, str]],
):
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    job = _job_in(JobStatus.FAILED, owner)
    page = context.new_page()
    page.goto(f"{web.url}/admin/login/")
    found = {"admin-login": violations(page, "admin-login")}
    sign_in(context, web, session_cookies(staff_user))
    for name, path in {
        "admin-index": "/admin/",
        "admin-jobs": "/admin/jobs/job/",
        "admin-job": f"/admin/jobs/job/{job.pk}/change/",
        "admin-events": "/admin/jobs/jobevent/",
        "admin-journeys": "/admin/jobs/journeyevent/",
        "admin-drafts": "/admin/jobs/wizarddraft/",
        "admin-tokens": "/admin/api/apitoken/",
    }.items():
        page.goto(f"{web.url}{path}")
        assert page.title() and "Page not found" not in page.title(), path
        assert "comment %}" not in page.inner_text("body"), "a template's comment shows"
        found[name] = violations(page, name)
    assert {name: v for name, v in found.items() if v} == {}


def test_axe_is_the_pinned_version():
    lock = json.loads((ROOT / "a11y" / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/axe-core"]["version"]
    installed = json.loads((AXE.parent / "package.json").read_text())["version"]
    assert installed == pinned
