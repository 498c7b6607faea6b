"""Debian's chromium driven by Playwright, against real uvicorn, worker, Postgres and Redis.

Never downloads a browser: it launches /usr/bin/chromium (scripts/test installs it).
uvicorn does not serve static files, so the browser context serves /static/ from the
repository's static/ folder.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.browser import STATIC_PREFIX, launch_chromium, serve_static
from tests.support.ratelimits import clear_rate_limits

WAIT_MS = 20_000

# Records, with the browser's wall clock (comparable with time.time() in the test), every
# connection-state change and every log line the page adds.
TIMELINE_SCRIPT = """
window.__timeline = [];
new MutationObserver((records) => {
  const t = Date.now();
  records.forEach((record, i) => {
    // Only the connection's state: the timeline's steps carry a data-state of their own.
    if (record.type === "attributes" && record.target.id === "connection") {
      // Records come in batches: a state's value is the next record's old value.
      const next = records.slice(i + 1).find(
        (r) => r.type === "attributes" && r.target.id === "connection");
      window.__timeline.push({t, state: next ? next.oldValue : record.target.dataset.state});
    }
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && node.matches("#job-log li")) {
        window.__timeline.push({t, seq: Number(node.dataset.seq), via: node.dataset.via});
      }
    }
  });
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeOldValue: true, attributeFilter: ["data-state"]});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Return chromium, for the tests of one module.

    Playwright's sync API keeps its event loop marked as running in this thread until it
    stops, and Django refuses ORM calls from a thread with a running loop. The ORM calls of
    these tests are plain sync calls, so Django's guard is lifted for as long as the loop
    lives (the same advice as Playwright's own Django guide).
    """
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    clear_rate_limits()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """Return a fresh context (own cookies, locks, channels) that serves /static/."""
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    context.route(f"**{STATIC_PREFIX}**", serve_static)
    context.add_init_script(TIMELINE_SCRIPT)
    yield context
    context.close()


@pytest.fixture
def open_job_page(
    browser_context: BrowserContext,
    session_cookies: Callable[[Any], dict[str, str]],
) -> Callable[..., Page]:
    """Return a function that opens a job's page as `user`, failing the test on any JS error."""
    errors: list[str] = []
    sessions: dict[Any, dict[str, str]] = {}  # one session per user: tabs share it

    def open_page(base_url: str, job: Any, user: Any) -> Page:
        if user.pk not in sessions:
            sessions[user.pk] = session_cookies(user)
        cookies = [
            {"name": name, "value": value, "url": base_url}
            for name, value in sessions[user.pk].items()
        ]
        browser_context.add_cookies(cookies)  # type: ignore[arg-type]
        page = browser_context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base_url}/jobs/{job.pk}/")
        return page

    yield open_page  # type: ignore[misc]
    assert not errors, f"errors in the page: {errors}"


OpenDashboard = Callable[[str], Page]


@pytest.fixture
def open_dashboard(
    browser_context: BrowserContext,
    staff_user: Any,
    session_cookies: Callable[[Any], dict[str, str]],
) -> Iterator[OpenDashboard]:
    """Return a function that opens /dashboard/ as staff, failing the test on any JS error."""
    errors: list[str] = []

    def open_page(base_url: str) -> Page:
        browser_context.add_cookies(
            [
                {"name": name, "value": value, "url": base_url}
                for name, value in session_cookies(staff_user).items()
            ]
        )
        page = browser_context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base_url}/dashboard/")
        page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
        return page

    yield open_page
    assert not errors, f"errors in the page: {errors}"
