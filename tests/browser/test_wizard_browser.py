"""The wizard in a real browser, from a blank page to the downloaded project.

A real uvicorn server and run_worker on Postgres and Redis; Debian's chromium through Playwright.
The test body makes no ORM call: Playwright's sync API keeps an event loop marked as running in
this thread, and Django refuses the ORM there.
"""

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.support.browser import STATIC_PREFIX, launch_chromium, serve_static
from tests.support.servers import WebServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 15_000
JOB_MS = 60_000  # a whole job at the test pace, with room for a slow machine


@pytest.fixture
def wizard_context(transactional_db: None) -> Iterator[BrowserContext]:
    """Return a fresh browser context serving /static/ from the repository.

    Depends on the database first so that the database is flushed after Playwright stops.
    """
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        context.route(f"**{STATIC_PREFIX}**", serve_static)
        yield context
        context.close()
        browser.close()


@pytest.fixture
def wizard_page(wizard_context: BrowserContext) -> Iterator[Page]:
    """Return a page that fails the test on any JavaScript error."""
    errors: list[str] = []
    page = wizard_context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"errors in the page: {errors}"


def autosaved(page: Page, text: str) -> object:
    """Wait for the validation request that carries `text` (autosave) to be answered."""
    return page.expect_response(
        lambda r: r.url.endswith("/wizard/validate") and text in (r.request.post_data or "")
    )


def test_walk_the_wizard_to_the_download(
    wizard_page, wizard_context, start_web, start_worker, tmp_path
):
    web: WebServer = start_web()
    start_worker()
    page = wizard_page
    page.goto(f"{web.url}/")
    expect(page).to_have_url(f"{web.url}/wizard/basics/")

    # An invalid name shows its error inline while typing, before Next is pressed.
    name = page.get_by_label("Project name")
    name.fill("!\u3164?")  # nothing a person could read: U+3164 shows as blank
    error = page.locator("#id_name_error")
    expect(error).to_contain_text("needs at least one visible letter or digit")
    expect(error).to_contain_text("remove U+3164")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", re.compile(r"\bid_name_error\b"))
    assert page.url == f"{web.url}/wizard/basics/", "nothing was submitted"
    name.fill("Harbor Coin")
    expect(error).to_have_count(0)
    expect(name).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("Description").fill("Tokens for the harbor co-op")
    with autosaved(page, "Ada"):
        page.get_by_label("Author").fill("Ada L.")

    # A refresh before Next keeps every input (the draft lives on the server).
    page.reload()
    expect(page.get_by_label("Project name")).to_have_value("Harbor Coin")
    expect(page.get_by_label("Description")).to_have_value("Tokens for the harbor co-op")
    expect(page.get_by_label("Author")).to_have_value("Ada L.")
    page.get_by_role("button", name="Next").click()

    expect(page).to_have_url(f"{web.url}/wizard/template/")
    page.get_by_label("Fungible token").check()
    page.get_by_role("button", name="Next").click()

    expect(page).to_have_url(f"{web.url}/wizard/options/")
    page.get_by_label("Sepolia testnet").check()
    page.get_by_label("React").check()
    page.get_by_label("Token symbol").fill("hbr")
    page.get_by_label("Initial supply").fill("21 000 000")
    page.get_by_label("Decimals").fill("8")
    with autosaved(page, "burnable=on"):
        page.get_by_label("Holders can burn tokens").check()

    # Refresh, and a new tab (the first one closed): both resume with every input.
    page.reload()
    expect_options(page)
    second = wizard_context.new_page()
    second.goto(f"{web.url}/")
    expect(second).to_have_url(f"{web.url}/wizard/options/")
    expect_options(second)
    second.close()
    # The page's Back link, then the browser's back button: still all there.
    page.get_by_role("link", name="Back").click()
    expect(page).to_have_url(f"{web.url}/wizard/template/")
    expect(page.get_by_label("Fungible token")).to_be_checked()
    page.go_back()
    expect(page).to_have_url(f"{web.url}/wizard/options/")
    expect_options(page)

    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(f"{web.url}/wizard/review/")
    review = page.locator("section.wizard")
    for shown in (
        "Harbor Coin",
        "Ada L.",
        "Fungible token",
        "Sepolia testnet",
        "HBR",
        "21,000,000",
    ):
        expect(review).to_contain_text(shown)
    page.get_by_role("button", name="Generate project").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(web.url)}/jobs/[0-9a-f-]{{36}}/$"))
    download_link = page.get_by_role("link", name=re.compile("Download"))
    expect(download_link).to_be_visible(timeout=JOB_MS)
    # The finished page says what to do with the zip: first commands, wallet and chain.
    steps = page.get_by_role("region", name="What to do with the zip")
    for said in ("harbor-coin-token/", "npm ci", "npm run node", "chain id 31337"):
        expect(steps).to_contain_text(said)
    expect(steps).to_contain_text("npm run deploy:testnet")  # the target network chosen
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename == "harbor-coin-token.zip"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    check_project(path)


def expect_options(page: Page) -> None:
    expect(page.get_by_label("Sepolia testnet")).to_be_checked()
    expect(page.get_by_label("React")).to_be_checked()
    expect(page.get_by_label("Token symbol")).to_have_value("hbr")
    expect(page.get_by_label("Initial supply")).to_have_value("21 000 000")
    expect(page.get_by_label("Decimals")).to_have_value("8")
    expect(page.get_by_label("Holders can burn tokens")).to_be_checked()


def check_project(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        root = "harbor-coin-token/"
        for expected in ("README.md", "package.json", "dapp.toml", "web/index.html"):
            assert root + expected in names, names
        assert any(n.startswith(root + "contracts/") and n.endswith(".sol") for n in names)
        manifest = archive.read(root + "dapp.toml").decode()
    assert 'symbol = "HBR"' in manifest
    assert "decimals = 8" in manifest and "initial_supply = 21000000" in manifest
    assert "burnable = true" in manifest


def test_a_price_is_typed_in_eth_and_shown_in_wei_and_an_impossible_combination_is_refused(
    wizard_page, start_web
):
    web: WebServer = start_web()
    page = wizard_page
    page.goto(f"{web.url}/")
    page.get_by_label("Project name").fill("Harbor Prints")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("NFT collection").check()
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(f"{web.url}/wizard/options/")

    price = page.get_by_label("Mint price (ETH)")
    price.fill("0.05")
    expect(page.locator("#id_mint_price_wei")).to_have_text("= 50,000,000,000,000,000 wei")
    page.get_by_label("Maximum supply").fill("10")
    page.get_by_label("Mints per wallet (0: no cap)").fill("11")
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(f"{web.url}/wizard/options/")  # refused, with why
    expect(page.locator("#id_max_per_wallet_error")).to_contain_text(
        "A cap of 11 per wallet is above the maximum supply (10)"
    )
    page.get_by_label("Mints per wallet (0: no cap)").fill("2")
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(f"{web.url}/wizard/review/")
    expect(page.locator("section.wizard")).to_contain_text("0.05 ETH (50,000,000,000,000,000 wei)")
