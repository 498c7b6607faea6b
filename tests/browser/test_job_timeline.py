"""The job page as a timeline, in a real browser: steps with times, durations and details,
one vocabulary of states, the queue place, the title, and the page without JavaScript.

Most tests play the worker's part through the services (the same calls the pipeline makes),
so that every state is reached on cue; one runs the real worker end to end. Screenshots at
desktop and phone width are kept in test-artifacts/ for a person to look at.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from jobs import services
from jobs.models import Job
from jobs.pipeline import STEPS
from jobs.wire import Step
from tests.support.browser import STATIC_PREFIX, serve_static
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
TOKEN = {"name": "Timeline Coin", "template": "token"}
JOB_MS = 40_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
OpenPage = Callable[[str, Job, Any], Page]
SECOND = round(100 / len(STEPS))
"""The percent the pipeline reports when its second step begins."""


def _screenshots(page: Page, name: str) -> None:
    """Keep the page at desktop and at phone width (full height) as test artifacts."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"job-{name}-{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


# WCAG contrast of every piece of text the page shows, against the colour behind it.
CONTRASTS = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => v / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const ownText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  const texts = [...document.querySelectorAll("#job *")]
    .filter((el) => el.checkVisibility() && ownText(el));
  return texts.map((el) => {
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(behind(el))];
    return {text: el.textContent.trim().slice(0, 40),
            ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
}"""


def _assert_readable(page: Page) -> None:
    """Assert every visible text of the page meets WCAG AA (4.5:1), and that changes are
    announced (a polite live region, the connection as a status)."""
    texts = page.evaluate(CONTRASTS)
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert len(texts) > 10 and not poor, poor
    assert page.get_attribute("#job-announce", "aria-live") == "polite"
    assert page.get_attribute("#connection", "role") == "status"


def _step(index: int) -> Step:
    key, label, _ = STEPS[index - 1]
    return Step(key=key, label=label, index=index, total=len(STEPS))


def _begin(job: Job, index: int) -> None:
    """Report a step the way the pipeline does: its opening line first."""
    step = _step(index)
    services.job_report_progress(
        job=job,
        percent=round(100 * (index - 1) / len(STEPS)),
        step=step,
        message=f"{step.label}…",
        eta_s=5,
    )


def _detail(job: Job, index: int, message: str) -> None:
    services.job_report_progress(
        job=job, percent=round(100 * (index - 1) / len(STEPS)), step=_step(index), message=message
    )


def _states(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#job-steps > li", "items => items.map(li => li.dataset.state)"
    )


def _step_text(page: Page, index: int, part: str) -> str:
    return page.text_content(f'#job-steps > li[data-index="{index}"] .{part}') or ""


def _wait_step(page: Page, index: int, state: str) -> None:
    page.wait_for_selector(f'#job-steps > li[data-index="{index}"][data-state="{state}"]')


def test_a_queued_job_shows_its_place_then_runs_as_a_timeline_and_a_cancel_stops_the_step(
    start_web, owner, open_job_page: OpenPage
):
    web = start_web()
    first = services.job_create(owner=owner, params={**TOKEN, "name": "First in line"})
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')

    assert page.is_visible("#job-queue")
    assert "Number 2 in the queue" in (page.text_content("#job-queue") or "")
    assert "unknown" in (page.text_content("#job-queue") or "")  # no worker: said, not guessed
    assert page.text_content("#job-status") == "Queued"
    services.job_start(job=first)
    page.wait_for_function(
        "() => document.getElementById('job-queue').textContent.includes('Number 1 in the queue')",
        timeout=15_000,
    )  # looked up again every 5 s while queued
    _screenshots(page, "queued")

    services.job_start(job=job)
    _begin(job, 1)
    _detail(job, 1, "template token: 14 files to write")
    _begin(job, 2)
    _detail(job, 2, "compiling 2/3: Token.sol")
    _wait_step(page, 2, "running")
    page.wait_for_function(
        '() => document.querySelector(\'#job-steps > li[data-index="2"] '
        ".details').textContent.includes('compiling 2/3')"
    )

    assert page.is_hidden("#job-queue")
    assert page.text_content("#job-status") == "Running"
    assert _states(page)[:3] == ["done", "running", "pending"]
    assert _step_text(page, 1, "state") == "Done" and _step_text(page, 2, "state") == "Running"
    assert _step_text(page, 1, "took").endswith(" s")
    assert page.eval_on_selector('#job-steps > li[data-index="2"] details', "d => d.open")
    assert not page.eval_on_selector('#job-steps > li[data-index="1"] details', "d => d.open")
    assert _step_text(page, 1, "details") == "template token: 14 files to write"
    assert f"{STEPS[0][1]}…" not in (page.text_content("#job-steps") or "")
    page.wait_for_function("t => document.title.startsWith(t)", arg=f"{SECOND} % · Timeline Coin")
    page.wait_for_function(  # the running step's duration counts, every second
        "() => document.querySelector('#job-steps > li[data-index=\"2\"] .took')"
        ".textContent.endsWith('…')"
    )
    assert (page.text_content("#job-announce") or "").startswith("Step 2 of")
    _assert_readable(page)
    _screenshots(page, "running")

    services.job_request_cancel(job=job)
    job.refresh_from_db()
    services.job_finish_cancelled(job=job)
    page.wait_for_selector('#connection[data-state="finished"]')

    assert _states(page) == ["done", "stopped"] + ["skipped"] * (len(STEPS) - 2)
    assert _step_text(page, 3, "state") == "Skipped"
    assert _step_text(page, 2, "state") == "Stopped"
    assert page.text_content("#job-status") == "Cancelled"
    assert page.get_attribute(".progress", "data-look") == "stopped"
    assert page.title().startswith("■ Cancelled · Timeline Coin")
    assert page.is_visible("text=Start another project") and page.is_hidden("#job-download")
    _assert_readable(page)
    _screenshots(page, "cancelled")


def test_a_failed_step_opens_with_what_went_wrong(start_web, owner, open_job_page: OpenPage):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')
    services.job_start(job=job)
    failing = len(STEPS) - 1  # the last but one step fails
    for index in range(1, failing + 1):
        _begin(job, index)
    services.job_fail(
        job=job,
        error="The contracts do not compile: contracts/Token.sol:9: "
        "DeclarationError: Identifier already declared.",
    )
    page.wait_for_selector('#connection[data-state="finished"]')

    assert _states(page) == ["done"] * (failing - 1) + ["failed", "skipped"]
    assert page.eval_on_selector(f'#job-steps > li[data-index="{failing}"] details', "d => d.open")
    assert page.is_visible("#job-error") and page.title().startswith("✕ Failed")
    # The raw error once, folded away under plain words; not among the step's lines.
    assert "Identifier already declared" not in _step_text(page, failing, "details")
    assert (
        page.text_content("#job-error-what")
        == "The contracts generated from your options do not compile."
    )
    assert page.is_hidden("#job-error-raw pre")
    page.click("#job-error-raw summary")
    assert "Identifier already declared" in (page.text_content("#job-error-raw pre") or "")
    _assert_readable(page)
    _screenshots(page, "failed")


def test_a_whole_run_shows_every_step_done_with_times_and_durations(
    start_web, start_worker, owner, open_job_page: OpenPage
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')
    start_worker(JOBS_STEP_PACE_S="0.3")
    page.wait_for_selector('#connection[data-state="finished"]', timeout=JOB_MS)

    assert _states(page) == ["done"] * len(STEPS)
    for index in range(1, len(STEPS) + 1):
        assert page.get_attribute(
            f'#job-steps > li[data-index="{index}"] .when time', "datetime"
        ), index
        assert _step_text(page, index, "took").endswith(" s"), index
    assert page.title().startswith("✓ Succeeded · Timeline Coin")
    assert (page.text_content("#job-eta") or "").startswith("took ")
    assert page.is_visible("#job-download a") and page.is_visible("text=Start another project")
    assert page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(web.url + "/static/composer/favicon.svg").status == 200
    _screenshots(page, "succeeded")


@pytest.fixture
def no_script_context(browser: Browser) -> Iterator[BrowserContext]:
    """Return a browser context with JavaScript turned off."""
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(20_000)
    context.route(f"**{STATIC_PREFIX}**", serve_static)
    yield context
    context.close()


def test_without_javascript_the_page_is_a_true_snapshot(
    start_web, owner, session_cookies, no_script_context: BrowserContext
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    services.job_start(job=job)
    _begin(job, 1)
    _detail(job, 1, "template token: 14 files to write")
    _begin(job, 2)
    no_script_context.add_cookies(
        [
            {"name": name, "value": value, "url": web.url}
            for name, value in session_cookies(owner).items()
        ]
    )
    page = no_script_context.new_page()
    page.goto(f"{web.url}/jobs/{job.pk}/")

    assert _states(page)[:3] == ["done", "running", "pending"]
    assert _step_text(page, 1, "state") == "Done" and _step_text(page, 2, "state") == "Running"
    assert _step_text(page, 1, "took").endswith(" s")
    assert page.text_content("#job-status") == "Running"
    assert "Not live" in (page.text_content("#connection") or "")
    assert page.title().startswith(f"{SECOND} % · Timeline Coin")
    _screenshots(page, "no-js")
