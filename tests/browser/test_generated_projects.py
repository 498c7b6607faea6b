"""Generated projects work exactly as their READMEs say, offline, with pages people can use.

Each walk makes a project through a real job, unpacks its zip and runs the README's commands
as written: `npm ci` (from the shipped package-lock.json, through an npm cache), `npm run
compile` (solc-js from npm: Hardhat's compiler cache stays empty), `npm test`, `npm run node`,
`npm run deploy`, `npm run web`. Then the page, in Debian's chromium with an injected EIP-1193
wallet forwarding to that devnet and every other host blocked and counted, does the template's
main action and shows its result; the chain is asked whether the page told the truth.

The default run walks one template and variant (a different one each day; `GENERATED_PROJECT=
dao/other` picks one). `-m projects` walks all four templates by {defaults, other options on a
public network with the React front end}; CI does not select it. Figures and screenshots (desktop
and phone width) go to test-artifacts/generated-projects/.
"""

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from jobs.generation.toolchain import shared_toolchain
from jobs.scaffolds import TEMPLATES
from tests.support.jobs import succeeded_job
from tests.support.projects import (
    Devnet,
    Project,
    params_for,
    readme_commands,
    rpc,
    serve_project,
    unzip_job,
)
from tests.support.rotation import of_the_day
from tests.support.servers import ROOT
from tests.support.wallet import wallet_script

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

NAME = "Café d'Élan"
README_STEPS = [
    "npm ci",
    "npm run compile",
    "npm test",
    "npm run node",
    "npm run deploy",
    "npm run web",
]
ARTIFACTS = ROOT / "test-artifacts" / "generated-projects"
WAIT_MS = 30_000
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WALKS = [(key, variant) for key in TEMPLATES for variant in ("defaults", "other")]


def todays_walk() -> tuple[str, str]:
    """Return the walk of the default run: GENERATED_PROJECT=key/variant, else today's."""
    key, variant = of_the_day(
        [f"{key}/{variant}" for key, variant in WALKS], named_by="GENERATED_PROJECT"
    ).split("/")
    return key, variant


@pytest.mark.parametrize(("key", "variant"), [todays_walk()])
def test_one_generated_project_works_as_its_readme_says(key, variant, browser, tmp_path):
    walk(key, variant, browser, tmp_path)


@pytest.mark.projects
@pytest.mark.parametrize(("key", "variant"), WALKS)
def test_every_generated_project_works_as_its_readme_says(key, variant, browser, tmp_path):
    walk(key, variant, browser, tmp_path)


def walk(key: str, variant: str, browser: Browser, tmp_path: Path) -> None:
    figures: dict[str, Any] = {"template": key, "variant": variant}
    started = time.monotonic()
    params = params_for(key, variant, NAME)
    job = succeeded_job(params=params)
    figures["generate_s"] = round(time.monotonic() - started, 1)
    assert job.download_name() == ("cafe-d-elan-" + key + ".zip")
    logs = tmp_path / "logs"
    logs.mkdir()
    project = Project.at(unzip_job(job, tmp_path / "zip"), logs)
    readme = (project.root / "README.md").read_text()
    assert readme.startswith("# Café d'Élan\n")
    steps = readme_commands(readme)
    assert steps == README_STEPS, steps
    network = params.get("network", "devnet")
    try:
        install_compile_test(project, figures)
        if network != "devnet":
            refuses_a_public_network_without_its_settings(project, network)
        with serve_project(project, node="npm run node", web="npm run web") as devnet:
            deploy = {"DEVNET_RPC_URL": devnet.rpc_url}
            project.run("npm run deploy", timeout=120, env=deploy)
            deployment = json.loads((project.root / "web" / "deployment.json").read_text())
            assert deployment["chainId"] == 31337 and deployment["rpcUrl"] == devnet.rpc_url
            page_started = time.monotonic()
            external = use_the_page(key, variant, browser, devnet, project, deploy)
            figures["page_s"] = round(time.monotonic() - page_started, 1)
            figures["external_requests"] = len(external)
            assert external == [], external
    finally:
        figures["commands_s"] = {c: round(s, 1) for c, s in project.seconds.items()}
        figures["total_s"] = round(time.monotonic() - started, 1)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{key}-{variant}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures))


def install_compile_test(project: Project, figures: dict[str, Any]) -> None:
    project.run("npm ci", timeout=900)
    compiled = project.run("npm run compile", timeout=600)
    assert "Compiled" in compiled and "Warning" not in compiled, compiled
    tested = project.run("npm test", timeout=600)
    passing = re.search(r"(\d+) passing", tested)
    assert passing and "failing" not in tested, tested
    figures["tests_passing"] = int(passing[1])
    assert project.downloaded_compilers() == [], "Hardhat downloaded a compiler"


def refuses_a_public_network_without_its_settings(project: Project, network: str) -> None:
    """`npm run deploy:<network>` without its RPC URL and key says what to set, and stops."""
    result = project.attempt(f"npm run deploy:{network}", timeout=120)
    assert result.returncode != 0
    assert f"set {network.upper()}_RPC_URL and DEPLOYER_KEY first" in result.stdout, result.stdout
    assert "Error:" not in result.stdout  # a message, not a stack trace


# --- the page ----------------------------------------------------------------------------------


class Blocked:
    """Lets through requests to the page's own server and the devnet; aborts and counts the rest."""

    def __init__(self, devnet: Devnet) -> None:
        self.allowed = {urlparse(devnet.web_url).netloc, urlparse(devnet.rpc_url).netloc}
        self.external: list[str] = []

    def install(self, context: BrowserContext) -> None:
        def route(route: Any) -> None:
            if urlparse(route.request.url).netloc in self.allowed:
                route.continue_()
            else:
                self.external.append(route.request.url)
                route.abort()

        context.route("**/*", route)


def use_the_page(
    key: str, variant: str, browser: Browser, devnet: Devnet, project: Project, env: dict[str, str]
) -> list[str]:
    """Open the page as its users would; return the requests it made to any other host."""
    blocked = Blocked(devnet)
    accounts = rpc(devnet.rpc_url, "eth_accounts")
    with page_in(browser, blocked, script=None) as page:
        page.goto(devnet.web_url)
        expect(page.locator("#notice")).to_contain_text("No wallet found", timeout=WAIT_MS)
        expect(page.locator("#notice")).to_contain_text(devnet.rpc_url)
    with page_in(browser, blocked, script=wallet_script(devnet.rpc_url, chain_id=1)) as page:
        page.goto(devnet.web_url)
        page.get_by_role("button", name="Connect wallet").click()
        notice = page.locator("#notice")
        expect(notice).to_contain_text("Your wallet is on chain 1", timeout=WAIT_MS)
        expect(notice).to_contain_text("Local devnet (chain 31337)")
        page.get_by_role("button", name="Switch to Local devnet").click()
        expect(page.locator("#wallet-state")).to_contain_text(
            f"Connected as {checksum(accounts[0])}"
        )
        expect(notice).to_be_empty()
    with page_in(browser, blocked, script=wallet_script(devnet.rpc_url)) as page:
        page.goto(devnet.web_url)
        page.get_by_role("button", name="Connect wallet").click()
        expect(page.locator("#wallet-state")).to_contain_text("Connected as", timeout=WAIT_MS)
        MAIN_ACTIONS[key](page, Chain(devnet.rpc_url, accounts), project, env)
        for width, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            page.screenshot(path=ARTIFACTS / f"{key}-{variant}-{width}.png", full_page=True)
    return blocked.external


@contextmanager
def page_in(browser: Browser, blocked: Blocked, *, script: str | None) -> Iterator[Page]:
    """Yield a page of a fresh browser context (the wallet script, the blocking); fail the test
    on any script error in it."""
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(WAIT_MS)
    blocked.install(context)
    if script:
        context.add_init_script(script)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


# --- the chain, asked directly -------------------------------------------------------------------


class Chain:
    """Reads of the devnet that do not go through the page."""

    def __init__(self, url: str, accounts: list[str]) -> None:
        self.url, self.accounts = url, accounts

    def uint(self, to: str, signature: str, *addresses: str) -> int:
        selector = shared_toolchain().request("keccak", text=signature)["hash"][:10]
        data = selector + "".join(a.lower().removeprefix("0x").rjust(64, "0") for a in addresses)
        return int(rpc(self.url, "eth_call", {"to": to, "data": data}, "latest"), 16)

    def balance(self, address: str) -> int:
        return int(rpc(self.url, "eth_getBalance", address, "latest"), 16)


def checksum(address: str) -> str:
    """Return the address as the page shows it (EIP-55), asking the toolchain's ethers."""
    digest = shared_toolchain().request("keccak", text=address.lower().removeprefix("0x"))["hash"]
    body = address.lower().removeprefix("0x")
    return "0x" + "".join(
        c.upper() if int(digest[2 + i], 16) >= 8 else c for i, c in enumerate(body)
    )


def deployment(project: Project) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project.root / "web" / "deployment.json").read_text())
    return data


def status(page: Page) -> Any:
    return expect(page.locator("#status"))


def act(page: Page, button: str, done: str, *, within: Any = None) -> None:
    """Press a button and wait for the page to say it is done (confirmed, not just sent)."""
    (within or page).get_by_role("button", name=button).click()
    status(page).to_contain_text(done, timeout=WAIT_MS)
    expect(page.locator("#notice")).to_be_empty()


# --- each template's main action -----------------------------------------------------------------


def token_transfer(page: Page, chain: Chain, project: Project, env: dict[str, str]) -> None:
    token = deployment(project)["contracts"]["token"]["address"]
    symbol = re.search(r'^symbol = "(.*)"', (project.root / "dapp.toml").read_text(), re.M)[1]
    supply = chain.uint(token, "totalSupply()")
    expect(page.locator("#balance")).to_have_text(f"{supply // 10**18:,} {symbol}")
    send = page.locator("#send")
    send.get_by_label("To").fill(chain.accounts[1])
    send.get_by_label("Amount").fill("250")
    act(page, "Send", f"Sent 250 {symbol} to", within=send)
    status(page).to_contain_text("confirmed in block")
    assert chain.uint(token, "balanceOf(address)", chain.accounts[1]) == 250 * 10**18
    expect(page.locator("#balance")).to_have_text(f"{supply // 10**18 - 250:,} {symbol}")
    send.get_by_label("Amount").fill(str(supply // 10**18 + 1))  # an overdraft: said, not logged
    send.get_by_role("button", name="Send").click()
    expect(page.locator("#notice")).to_contain_text(f"Not enough {symbol}")
    if page.locator("#burn").count():
        burn = page.locator("#burn")
        burn.get_by_label("Amount").fill("50")
        act(page, "Burn", f"Burnt 50 {symbol}", within=burn)
        expect(page.locator("#supply")).to_have_text(f"{supply // 10**18 - 50:,} {symbol}")
        assert chain.uint(token, "totalSupply()") == supply - 50 * 10**18
    page.evaluate("window.__wallet.use(1)")  # the wallet's user picks the receiving account
    expect(page.locator("#wallet-state")).to_contain_text(checksum(chain.accounts[1]))
    expect(page.locator("#balance")).to_have_text(f"250 {symbol}")


def nft_mint(page: Page, chain: Chain, project: Project, env: dict[str, str]) -> None:
    collection = deployment(project)["contracts"]["collection"]["address"]
    price = chain.uint(collection, "MINT_PRICE()")
    expect(page.locator("#minted")).to_contain_text("0 of ")
    expect(page.locator("#price")).to_contain_text(f"({price:,} wei)")
    act(page, "Mint one", "Minted token #1")
    expect(page.locator("#owned")).to_contain_text("#1")
    expect(page.locator("#minted")).to_contain_text("1 of ")
    assert chain.uint(collection, "balanceOf(address)", chain.accounts[0]) == 1
    if page.locator("#left").count():  # a per-wallet cap
        act(page, "Mint one", "Minted token #2")
        expect(page.locator("#left")).to_have_text("0")
        expect(page.locator("#mint")).to_have_text("This wallet's cap is reached")
        expect(page.locator("#mint")).to_be_disabled()
    held = chain.balance(collection)
    if held:
        act(page, "Withdraw payments", "Withdrew")
        assert chain.balance(collection) == 0
    owner = page.locator("#owner")
    owner.get_by_label("New metadata base URI").fill("ipfs://moved/")
    act(page, "Set base URI", "Metadata now lives under ipfs://moved/", within=owner)


def dao_vote(page: Page, chain: Chain, project: Project, env: dict[str, str]) -> None:
    expect(page.locator("#votes")).to_have_text("1,000,000")
    page.get_by_label("What should the DAO decide?").fill("Adopt the harbor charter")
    act(page, "Propose", "Proposed")
    row = page.locator("#proposals tr", has_text="Adopt the harbor charter")
    expect(row).to_contain_text("Pending")
    opened = project.run("npm run mine", timeout=120, env=env)  # the README's way
    assert "voting is open (Active)" in opened, opened
    expect(row).to_contain_text("Active", timeout=WAIT_MS)  # the page follows new blocks
    act(page, "Vote For", "Voted For", within=row)
    expect(row).to_contain_text("For 1,000,000")
    act(page, "Close voting now (devnet)", "Voting is closed.", within=row)  # the page's way
    expect(row).to_contain_text("Succeeded")
    if row.get_by_role("button", name="Queue").count():
        act(page, "Queue", "Queued in the timelock", within=row)
        expect(row).to_contain_text("Queued")
        waited = project.run("npm run mine", timeout=120, env=env)
        assert "the timelock delay is over" in waited, waited
        expect(row.get_by_role("button", name="Execute")).to_be_visible(timeout=WAIT_MS)
    act(page, "Execute", "Executed", within=row)
    expect(row).to_contain_text("Executed")


def escrow_sale(page: Page, chain: Chain, project: Project, env: dict[str, str]) -> None:
    escrow = deployment(project)["contracts"]["escrow"]["address"]
    seller, buyer, arbiter = chain.accounts[1:4]
    page.evaluate("window.__wallet.use(1)")  # the seller
    expect(page.locator("#wallet-state")).to_contain_text(checksum(seller))
    form = page.locator("#list")
    form.get_by_label("Item").fill("A bicycle")
    form.get_by_label("Price (ETH)").fill("1.5")
    expect(page.locator("#price-wei")).to_have_text("= 1,500,000,000,000,000,000 wei")
    form.get_by_label("Arbiter address").fill(arbiter)
    act(page, "List item", "Listed “A bicycle” for 1.5 ETH", within=form)
    row = page.locator("#listings tr", has_text="A bicycle")
    expect(row).to_contain_text("Listed")
    page.evaluate("window.__wallet.use(2)")  # the buyer
    expect(page.locator("#wallet-state")).to_contain_text(checksum(buyer))
    act(page, "Buy for 1.5 ETH", "Paid into escrow", within=row)
    expect(row).to_contain_text("Paid, in escrow (seller ships by")
    assert chain.balance(escrow) == 15 * 10**17
    act(page, "Release payment", "Payment released to the seller", within=row)
    expect(row).to_contain_text("Completed")
    fee = 15 * 10**17 * chain.uint(escrow, "FEE_BASIS_POINTS()") // 10_000
    assert chain.uint(escrow, "credits(address)", seller) == 15 * 10**17 - fee
    page.evaluate("window.__wallet.use(1)")  # the seller collects
    expect(page.locator("#credit")).to_have_text(f"{(15 * 10**17 - fee) / 10**18:g} ETH")
    act(page, "Withdraw", "Withdrew")
    assert chain.uint(escrow, "credits(address)", seller) == 0
    assert chain.balance(escrow) == fee


MAIN_ACTIONS: dict[str, Callable[[Page, Chain, Project, dict[str, str]], None]] = {
    "token": token_transfer,
    "nft": nft_mint,
    "dao": dao_vote,
    "escrow": escrow_sale,
}
