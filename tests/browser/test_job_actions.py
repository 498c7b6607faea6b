"""The job page as something to share and act on, in a real browser: links to log lines that
open where they point (whichever transport brought the line), a filter over the log, a failure
said in plain words with one click to run again or to edit the options, each step beside its
usual duration, and a friendly page for a job that is not the visitor's.

Screenshots at desktop and phone width are kept in test-artifacts/ for a person to look at.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from jobs import services
from jobs.models import Job, JobStatus
from jobs.pipeline import STEPS
from jobs.wire import Step
from tests.support.failures import PRICE, shows_the_price, unaffordable_nft
from tests.support.jobs import succeeded_job
from tests.support.proxy import Proxy
from tests.support.servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TOKEN = {"name": "Linked Coin", "template": "token"}
PRICEY = unaffordable_nft()
# What the toolchain says of that mint price (issue 28): hashes that made the page 716 px wide.
NO_FUNDS = (
    "Generation failed: ToolchainError: Error: sender doesn't have enough funds to send tx. The "
    "upfront cost is: 10000000000000000300000000 and the sender's account "
    "(0x2b5ad5c4795c026514f8317c7a215e218dccd6cf) only has: 1000000000000000000000000 (vm "
    "hf=cancun -> block number=2 hash=0xfb4de9cacfeb21f3d40709b65c73664a92960b8c6037aa507f2a3"
    "dafbf615e7b hf=cancun baseFeePerGas=7 txs=0 uncles=0 -> tx type=0 hash=0xae089fd070b9e77a"
    "378d6e1ab73ecd3b496f783b61b76c2647596c4de3313a2e nonce=0 value=10000000000000000000000000)"
)
OpenPage = Callable[[str, Job, Any], Page]


def _screenshots(page: Page, name: str) -> None:
    """Keep the page at desktop and at phone width (full height); at the phone's width the
    page must not scroll sideways."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"job-{name}-{width}.png"), full_page=True)
        if width == "phone":
            assert _page_width(page) <= PHONE["width"], f"{name}: scrolls sideways on a phone"
    page.set_viewport_size(DESKTOP)


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _report(job: Job, index: int, message: str) -> None:
    key, label, _ = STEPS[index - 1]
    services.job_report_progress(
        job=job,
        percent=round(100 * (index - 1) / len(STEPS)),
        step=Step(key=key, label=label, index=index, total=len(STEPS)),
        message=message,
    )


def _begin(job: Job, index: int, *details: str) -> None:
    _report(job, index, f"{STEPS[index - 1][1]}…")
    for line in details:
        _report(job, index, line)


def _log_count(page: Page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#job-log li').length >= n", arg=count, timeout=20_000
    )


def _in_view(page: Page, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector,
            "el => { const r = el.getBoundingClientRect();"
            " return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }",
        )
    )


@pytest.fixture
def proxy(start_web) -> Iterator[Proxy]:
    front = Proxy(start_web().port).start()
    yield front
    front.stop()


def test_a_link_to_a_log_line_opens_it_with_its_step_unfolded_whichever_way_it_came(
    proxy: Proxy, owner, open_job_page: OpenPage
):
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(proxy.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')
    services.job_start(job=job)
    _begin(job, 1, "template token: 14 files to write")
    _begin(job, 2, "compiling 1/2: Token.sol", "compiling 2/2: Vault.sol")
    _log_count(page, 7)

    proxy.streams = "503"  # a deploy: the stream drops, the page falls back to polling
    proxy.drop_streams()
    page.wait_for_selector('#connection[data-state="polling"]', timeout=20_000)
    _begin(job, 3, "deploying 1/1: Token", "deployed Token at 0x5FbDB2315678afecb367f032d93F6")
    _log_count(page, 10)

    lines = page.eval_on_selector_all(
        "#job-log li",
        "items => items.map(li => ({id: li.id, via: li.dataset.via,"
        " href: li.querySelector('a.anchor').getAttribute('href')}))",
    )
    assert {line["via"] for line in lines} >= {"sse", "poll"}
    assert all(line["id"] == f"seq-{i}" for i, line in enumerate(lines, start=1))
    assert all(line["href"] == f"#{line['id']}" for line in lines)

    # Step 2's second line, shared: another browser opens at it, step 2 (done) unfolded.
    seq = next(
        i
        for i, line in enumerate(
            page.eval_on_selector_all(
                "#job-log li .text", "spans => spans.map(s => s.textContent)"
            ),
            start=1,
        )
        if line == "compiling 2/2: Vault.sol"
    )
    other = page.context.new_page()
    other.goto(f"{proxy.url}/jobs/{job.pk}/#seq-{seq}")
    other.wait_for_selector(f"#seq-{seq}.linked")
    assert other.eval_on_selector("#job-log-box", "d => d.open")
    assert other.eval_on_selector('#job-steps > li[data-index="2"] details', "d => d.open")
    assert other.get_attribute('#job-steps > li[data-index="2"]', "data-state") == "done"
    assert _in_view(other, f"#seq-{seq}")
    _screenshots(other, "linked-line")


def test_the_filter_box_narrows_the_log_live_lines_included(
    start_web, owner, open_job_page: OpenPage
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')
    services.job_start(job=job)
    _begin(job, 2, "compiling 1/2: Token.sol", "compiling 2/2: Vault.sol")
    _log_count(page, 5)
    page.click("#job-log-box summary")

    page.fill("#job-log-filter", "COMPILING")
    assert page.eval_on_selector_all("#job-log li:not([hidden])", "l => l.length") == 2
    assert page.text_content("#job-log-shown") == "2 of 5 shown"
    _report(job, 2, "compiling done: 2 files")
    _report(job, 2, "compiler warning: unused variable")
    page.wait_for_function(
        "() => document.getElementById('job-log-shown').textContent === '3 of 7 shown'"
    )
    page.fill("#job-log-filter", "")
    assert page.eval_on_selector_all("#job-log li:not([hidden])", "l => l.length") == 7


def test_a_failure_is_said_once_in_plain_words_and_runs_again_in_one_click(
    start_web, owner, open_job_page: OpenPage
):
    web = start_web()
    job = services.job_create(owner=owner, params=PRICEY)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')
    services.job_start(job=job)
    for index in range(1, 5):
        _begin(job, index)
    services.job_fail(job=job, error=NO_FUNDS)
    page.wait_for_selector('#connection[data-state="finished"]')

    what = page.text_content("#job-error-what") or ""
    assert what.startswith("The smoke test could not mint a token: the mint price is more")
    assert "at most 1,000,000 ETH" in (page.text_content("#job-error-advice") or "")
    text = page.evaluate("document.getElementById('job').textContent")
    assert text.count("enough funds") == 1  # the raw detail once, in the folded details
    assert page.is_hidden("#job-error-raw pre")
    states = page.eval_on_selector_all("#job-steps > li", "l => l.map(li => li.dataset.state)")
    assert states == ["done", "done", "done", "failed", "skipped"]
    assert page.is_visible("#job-again") and page.is_visible("#job-edit")
    page.click("#job-error-raw summary")  # hashes and all, wrapped
    _screenshots(page, "failed-explained")

    page.reload()  # the page as anyone opening it later sees it: the same words
    assert (page.text_content("#job-error-what") or "") == what
    assert page.text_content('#job-steps > li[data-index="5"] .state') == "Skipped"
    assert page.text_content(".meta strong") == "NFT collection"  # a label, not the key

    with page.expect_navigation():
        page.click("#job-again button")
    again = Job.objects.get(retry_of=job)
    assert page.url.endswith(f"/jobs/{again.pk}/") and again.params == job.params
    assert again.status == JobStatus.QUEUED


def test_edit_options_and_try_again_opens_the_wizard_at_the_option_to_change(
    start_web, owner, open_job_page: OpenPage
):
    web = start_web()
    job = services.job_create(owner=owner, params=PRICEY)
    services.job_start(job=job)
    _begin(job, 4)
    services.job_fail(job=job, error=NO_FUNDS)
    page = open_job_page(web.url, job, owner)

    with page.expect_navigation():
        page.click("#job-edit button")

    assert page.url.endswith(f"/wizard/options/#id_{PRICE}")
    assert shows_the_price(page.input_value(f"#id_{PRICE}"))
    assert page.input_value("#id_symbol") == "APE"
    assert _in_view(page, f"#id_{PRICE}")
    _screenshots(page, "edit-options")


def test_each_step_shows_its_duration_beside_the_templates_usual(
    start_web, owner, open_job_page: OpenPage
):
    web = start_web()
    succeeded_job(owner=owner, params=TOKEN)  # the template's history
    job = services.job_create(owner=owner, params=TOKEN)
    services.job_start(job=job)
    _begin(job, 1, "template token: 14 files to write")
    _begin(job, 2)
    page = open_job_page(web.url, job, owner)
    page.wait_for_selector('#connection[data-state="live"]')

    usual = page.eval_on_selector_all(
        "#job-steps > li .usual", "spans => spans.map(s => s.textContent)"
    )
    assert len(usual) == len(STEPS) and all(u.startswith("usual ") for u in usual)
    assert (page.text_content('#job-steps > li[data-index="1"] .took') or "").endswith(" s")
    _screenshots(page, "usual-durations")


def test_a_job_that_is_not_the_visitors_gets_a_page_that_says_why(
    start_web, owner, browser_context, django_user_model, session_cookies
):
    web = start_web()
    job = services.job_create(owner=owner, params=TOKEN)
    page = browser_context.new_page()

    response = page.goto(f"{web.url}/jobs/{job.pk}/")

    assert response is not None and response.status == 404
    assert page.text_content("h1") == "This job is not available to you"
    assert page.is_visible("text=sign in") and "URLconf" not in page.content()
    missing = page.context.new_page()
    other = missing.goto(f"{web.url}/jobs/00000000-0000-0000-0000-000000000000/")
    assert other is not None and other.status == 404
    assert missing.text_content("main") == page.text_content("main")
    _screenshots(page, "not-available")
