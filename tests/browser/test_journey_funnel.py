"""The journey funnel and the dashboard's readability, in a real browser, as the ecosystem team
uses them: any range and template, where people stop, why, how long each stage takes, the list
of who stopped and its CSV; text of 12 px or more, no text over another, and a 390 px phone
without sideways scrolling.

Screenshots at desktop and phone width are kept in test-artifacts/ for a person to look at.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from jobs import services
from jobs.models import Job, JobStatus
from tests.support.journeys import K, record, walk
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# Every visible piece of text on the page, with its rendered size in CSS pixels (an SVG's
# text scaled by the SVG's own transform, if any).
TEXT_SIZES = """() => [...document.querySelectorAll('main *')].filter((el) =>
    el.checkVisibility() &&
    [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())
  ).map((el) => {
    const svg = el.closest('svg');
    const scale = svg ? svg.getScreenCTM().a : 1;
    return {text: el.textContent.trim().slice(0, 40),
            px: parseFloat(getComputedStyle(el).fontSize) * scale};
  })"""

# Per chart, every pair of visible texts whose boxes overlap, and every text that leaves it.
COLLISIONS = """() => [...document.querySelectorAll('svg.chart')].flatMap((svg) => {
  const frame = svg.getBoundingClientRect();
  const boxes = [...svg.querySelectorAll('text')]
    .filter((t) => t.checkVisibility() && t.textContent.trim())
    .map((t) => ({text: t.textContent.trim().slice(0, 30), box: t.getBoundingClientRect()}));
  const hits = [];
  boxes.forEach((a, i) => {
    // A glyph may overhang its origin by a pixel (the hook of a "J"): that is not leaving.
    if (a.box.left < frame.left - 2 || a.box.right > frame.right + 2)
      hits.push([svg.id, a.text, 'leaves the chart']);
    for (const b of boxes.slice(i + 1)) {
      const apart = a.box.right <= b.box.left + 0.5 || b.box.right <= a.box.left + 0.5 ||
                    a.box.bottom <= b.box.top + 0.5 || b.box.bottom <= a.box.top + 0.5;
      if (!apart) hits.push([svg.id, a.text, b.text]);
    }
  });
  return hits;
})"""


def _ago(**delta: float):
    return timezone.now() - timedelta(**delta)


def _seed_two_weeks() -> None:
    """Journeys of this week and the week before: templates, errors, a failure, a download."""
    for i in range(6):  # token: most get through
        walk(f"tok{i}", 8 if i < 3 else 5, at=_ago(days=1 + i / 3), template="token")
    for i in range(5):  # nft: many stop at the options, on the supply
        walk(f"nft{i}", 3, at=_ago(days=2, hours=i), template="nft")
        record(
            f"nft{i}",
            K.VALIDATION_ERROR,
            at=_ago(days=2, hours=i) + timedelta(minutes=4),
            step="options",
            field="max_supply",
            template="nft",
            detail="max_value: Maximum supply can be at most 1,000,000,000; … is too large.",
        )
    job = walk("nft-paid", 6, at=_ago(days=3), template="nft")
    record(
        "nft-paid",
        K.JOB_FAILED,
        at=_ago(days=3) + timedelta(minutes=8),
        step="smoke",
        template="nft",
        detail="Mint price above the test accounts' funds",
        job=job,
    )
    walk("dao0", 2, at=_ago(days=4), template="dao")
    record("dao0", K.FIELD_EDITED, at=_ago(days=4) + timedelta(minutes=3), step="template")
    for i in range(4):  # the week before: fewer
        walk(f"old{i}", 4 + i, at=_ago(days=9 + i), template="token")


def _jobs_for_the_last_day() -> None:
    """Jobs of the last day: outcomes, timings (p50/p95 markers), running and queued ones."""
    now = timezone.now()
    for i, (template, status, took) in enumerate(
        [("token", JobStatus.SUCCEEDED, 9.0)] * 6
        + [("nft", JobStatus.FAILED, 4.0), ("dao", JobStatus.SUCCEEDED, 95.0)]
        + [("escrow", JobStatus.CANCELLED, 3.0)]
    ):
        job = services.job_create(
            owner=None, params={"name": f"Day Coin {i}", "template": template}
        )
        Job.objects.filter(pk=job.pk).update(
            status=status,
            started_at=now - timedelta(seconds=took + 60),
            finished_at=now - timedelta(seconds=60),
        )
    running = services.job_create(
        owner=None, params={"name": "A Long Running Name", "template": "dao"}
    )
    services.job_start(job=running)
    services.job_create(owner=None, params={"name": "Waiting Apes", "template": "nft"})


def _screenshots(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        _assert_readable(page, width)
    page.set_viewport_size(SIZES["desktop"])


def _assert_readable(page: Page, width: str) -> None:
    small = [t for t in page.evaluate(TEXT_SIZES) if t["px"] < 12]
    assert not small, (width, small)
    hits = page.evaluate(COLLISIONS)
    assert not hits, (width, hits)
    if width == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"]


def _row(page: Page, stage: str, stat: str) -> str:
    return (page.text_content(f'tr[data-stage="{stage}"] [data-stat="{stat}"]') or "").strip()


def test_the_team_sees_where_people_stop_why_and_how_long_for_any_week_and_template(
    start_web, open_dashboard
):
    _seed_two_weeks()
    web = start_web()
    page = open_dashboard(web.url)
    page.wait_for_selector('#dash-connection[data-state="live"]')

    assert _row(page, "wizard_started", "visitors") == "13"
    assert _row(page, "wizard_started", "change").startswith("+225 %")  # 13 against 4
    assert _row(page, "step:basics", "time").startswith("60 s · 60 s")
    assert _row(page, "downloaded", "visitors") == "3"
    _screenshots(page, "dashboard-funnel")

    page.select_option('select[name="template"]', "nft")
    with page.expect_navigation():
        page.click(".funnel-form button")
    assert "template=nft" in page.url
    assert "NFT collection" in (page.text_content("#funnel-range") or "")
    assert _row(page, "wizard_started", "visitors") == "6"
    assert _row(page, "step:options", "visitors") == "1"
    page.wait_for_timeout(2500)  # a few live snapshots: they leave a chosen funnel alone
    assert "NFT collection" in (page.text_content("#funnel-range") or "")

    with page.expect_navigation():
        page.click('tr[data-stage="step:template"] [data-stat="stopped"] a')
    assert page.text_content("h1") == "Stopped at “Step 2: Template”"
    rows = page.eval_on_selector_all(".dropoff-table tbody tr", "rows => rows.length")
    assert rows == 5
    text = page.text_content(".dropoff-table") or ""
    assert "Options" in text and "“Maximum supply”: Maximum supply can be at most" in text
    _screenshots(page, "dashboard-dropoffs")

    with page.expect_download() as download:
        page.click("text=Download all of them as CSV")
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(exported) == 5 and {r["template"] for r in exported} == {"NFT collection"}
    assert {r["stopped_after"] for r in exported} == {"Step 2: Template"}
    assert all(r["last_error"].startswith("“Maximum supply”") for r in exported)

    page.go_back()
    week = [(_ago(days=6)).date().isoformat(), timezone.now().date().isoformat()]
    page.fill('input[name="from"]', week[0])
    page.fill('input[name="to"]', week[1])
    page.select_option('select[name="template"]', "")
    with page.expect_navigation():
        page.click(".funnel-form button")
    assert f"from={week[0]}" in page.url
    assert _row(page, "wizard_started", "visitors") == "13"
    with page.expect_download() as funnel_csv:
        page.click("text=Download this funnel as CSV")
    stages = list(csv.DictReader(io.StringIO(funnel_csv.value.path().read_text())))
    assert stages[0]["stage"] == "wizard_started" and stages[0]["visitors"] == "13"


def test_the_dashboard_is_readable_on_a_desktop_and_on_a_phone(start_web, open_dashboard):
    _seed_two_weeks()
    _jobs_for_the_last_day()
    web = start_web()
    page = open_dashboard(web.url)
    page.wait_for_selector('#dash-connection[data-state="live"]')
    page.wait_for_selector("#chart-timing .marker-label")

    labels = page.eval_on_selector_all(
        "#chart-popularity .label", "texts => texts.map(t => t.textContent)"
    )
    assert "Fungible token" in labels and "token" not in labels  # labels, not keys
    _screenshots(page, "dashboard-readable")
