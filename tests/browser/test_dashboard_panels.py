"""The dashboard's panels in a real browser: the queue, the whole funnel, labels that never
collide, and the real-time figures of every web process at once.

Two uvicorn processes on one database and one Redis, as behind a load balancer; screenshots at
desktop and phone width are kept in test-artifacts/.
"""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from jobs import services
from jobs.models import Job, JobStatus
from tests.browser.test_dashboard_browser import _record_journeys
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# Every marker label's box in the timing chart, in the browser's own text layout.
MARKER_BOXES = """() => [...document.querySelectorAll('#chart-timing .marker-label')].map(t => {
  const box = t.getBBox();
  return {text: t.textContent, left: box.x, right: box.x + box.width, top: box.y,
          bottom: box.y + box.height};
})"""


def _jobs_that_took(seconds: float, count: int) -> None:
    """Record `count` succeeded jobs that each ran `seconds`: p50 and p95 are equal."""
    now = timezone.now()
    for _ in range(count):
        job = services.job_create(owner=None, params={"name": "Even Coin", "template": "token"})
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.SUCCEEDED,
            percent=100,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


def _screenshots(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])


def test_the_queue_the_whole_funnel_clear_labels_and_every_web_process(start_web, open_dashboard):
    _record_journeys()
    _jobs_that_took(9.0, 5)
    for template in ("nft", "nft", "dao"):
        services.job_create(owner=None, params={"name": "Waiting Coin", "template": template})
    first, second = start_web(), start_web()
    page = open_dashboard(first.url)
    page.wait_for_selector('#dash-connection[data-state="live"]')
    # Its first request through Django (/healthz is answered before Django): it reports too.
    assert page.request.get(f"{second.url}/readyz").ok

    assert page.text_content('[data-panel="queue"] [data-stat="queued"]') == "3"
    assert page.get_attribute('#chart-queue g[data-key="nft"]', "data-value") == "2"
    assert "no worker is at work" in (page.text_content('[data-panel="queue"]') or "")
    review = page.get_attribute('[data-panel="funnel"] g[data-key="step:review"]', "data-value")
    assert review == "5"  # seeded: 5 reached the review, 5 submitted

    labels = page.evaluate(MARKER_BOXES)
    assert labels and "p50" in labels[0]["text"] and "p95" in " ".join(t["text"] for t in labels)
    width = page.eval_on_selector("#chart-timing", "svg => svg.viewBox.baseVal.width")
    for i, a in enumerate(labels):
        assert 0 <= a["left"] and a["right"] <= width, a
        assert not any(_overlap(a, b) for b in labels[i + 1 :]), labels

    names = {f"{socket.gethostname()}:{web.proc.pid}" for web in (first, second)}
    rows = '[data-panel="realtime"] tr[data-process]'
    page.wait_for_function(
        "([rows, names]) => names.every(n => [...document.querySelectorAll(rows)]"
        ".some(r => r.dataset.process === n))",
        arg=[rows, sorted(names)],
        timeout=20_000,
    )
    heading = page.text_content("#realtime-heading") or ""
    assert "web processes" in heading and "this web process only" not in heading
    streams = page.eval_on_selector_all(
        f"{rows} td:first-of-type", "cells => cells.map(c => Number(c.textContent))"
    )
    assert int(page.text_content('[data-stat="open_streams"] dd') or 0) == sum(streams)
    _screenshots(page, "dashboard-panels")
