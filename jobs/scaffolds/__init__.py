"""The dApp templates that ship with the app: their options, files and contracts.

Each template is a folder under `files/` whose text files are Django templates rendered with
the job's parameters (by `jobs.generation.render`), on top of `files/_shared/` (the Hardhat
configuration, the package manifest, the wallet code and stylesheet every page shares);
`TEMPLATES` describes each one's options, their defaults, the contracts it generates and the
option combinations it refuses.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

FILES_DIR = Path(__file__).resolve().parent / "files"
SHARED_DIR = FILES_DIR / "_shared"
PROJECT_LOCK = Path(__file__).resolve().parent / "project-lock.json"
"""The generated projects' package-lock.json, made by `scripts/project-lock` with npm itself."""
NETWORKS: dict[str, dict[str, Any]] = {
    "devnet": {
        "label": "Local devnet",
        "rpc_url": "http://127.0.0.1:8545",
        "rpc_env": "DEVNET_RPC_URL",
        "chain_id": 31337,
    },
    "testnet": {
        "label": "Sepolia testnet",
        "rpc_env": "TESTNET_RPC_URL",
        "chain_id": 11155111,
    },
    "mainnet": {"label": "Ethereum mainnet", "rpc_env": "MAINNET_RPC_URL", "chain_id": 1},
}
"""Where a project deploys. Only the devnet has a URL of its own (`npm run node`); a public
network's RPC URL and the deployer's key come from environment variables the README names."""
FRONTENDS = {
    "vanilla": "Plain HTML + JavaScript",
    "react": "React 18 (vendored, no build step)",
}
DEVNET_ETHER = 10_000
"""What each account of `npm run node` (Hardhat's devnet) holds, in ETH."""
MAX_MINT_PRICE_ETH = Decimal(1_000)
"""A dearer mint could not be paid a few times over from one devnet account."""
Params = Mapping[str, Any]
Rule = Callable[[Params], dict[str, str]]
"""A check of option combinations: {option: why this combination cannot work}, empty if fine."""


@dataclass(frozen=True, kw_only=True)
class Option:
    """One choice a template offers in the wizard."""

    name: str
    """The parameter's key."""
    label: str
    """What the wizard shows."""
    default: Any
    """The value used when the developer does not choose."""
    choices: tuple[str, ...] = ()
    """Allowed values for a choice; empty for free values."""
    kind: str = "choice"
    """choice, bool, int, ether (an amount in ETH, kept as decimal text) or text."""
    help: str = ""
    """One sentence shown under the field."""


@dataclass(frozen=True, kw_only=True)
class DappTemplate:
    """A kind of dApp project the composer can generate."""

    key: str
    """Identifier used in parameters and file paths."""
    label: str
    """Human name."""
    description: str
    """One or two sentences for the wizard."""
    options: tuple[Option, ...] = field(default=())
    """Template-specific options, beyond the common ones."""
    contracts: tuple[tuple[str, str], ...] = field(default=())
    """(source file, contract name pattern) in deployment order; `{}` is the contract name."""
    suffix: str = "App"
    """Appended to a contract name that would collide with a name the sources already use."""
    only_if: dict[str, str] = field(default_factory=dict)
    """{file: option}: the file (and the contract it declares) exists only when the option is on."""
    rules: tuple[Rule, ...] = field(default=())
    """Option combinations that cannot work, refused at validation."""

    def defaults(self) -> dict[str, Any]:
        """Return every option's default, common options included."""
        return {option.name: option.default for option in (*COMMON_OPTIONS, *self.options)}

    def files(self, params: Params | None = None) -> list[Path]:
        """Return the project's source files (shared ones included), relative paths, sorted.

        Without `params`, every file the template may produce. Files named `_…` are partials
        that other files include, not files of the project."""
        paths = {
            p.relative_to(root)
            for root in (SHARED_DIR, FILES_DIR / self.key)
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith("_")
        }
        return sorted(p for p in paths if self._wanted(str(p), params))

    def contracts_for(self, params: Params) -> tuple[tuple[str, str], ...]:
        """Return the (source file, contract name pattern) pairs the parameters produce."""
        return tuple(c for c in self.contracts if self._wanted(c[0], params))

    def problems(self, params: Params) -> dict[str, str]:
        """Return {option: message} for every combination of `params` that cannot work."""
        found: dict[str, str] = {}
        for rule in self.rules:
            found.update(rule(params))
        return found

    def _wanted(self, path: str, params: Params | None) -> bool:
        option = self.only_if.get(path)
        return option is None or params is None or bool(params.get(option))


COMMON_OPTIONS = (
    Option(name="description", label="Description", default="", kind="text"),
    Option(name="author", label="Author", default="", kind="text"),
    Option(
        name="network",
        label="Target network",
        default="devnet",
        choices=tuple(NETWORKS),
        help="Where `npm run deploy:<network>` deploys; every project also deploys to a "
        "local devnet with `npm run deploy`.",
    ),
    Option(name="frontend", label="Frontend flavour", default="vanilla", choices=tuple(FRONTENDS)),
)

TEMPLATES: dict[str, DappTemplate] = {}


def register(template: DappTemplate) -> DappTemplate:
    """Add a template to the registry."""
    TEMPLATES[template.key] = template
    return template


register(
    DappTemplate(
        key="token",
        contracts=(("contracts/Token.sol", "{}"),),
        suffix="Token",
        label="Fungible token",
        description="An ERC-20 style token with a fixed supply minted to the deployer, "
        "and a page to check balances and send tokens.",
        options=(
            Option(name="symbol", label="Token symbol", default="TKN", kind="text"),
            Option(name="initial_supply", label="Initial supply", default=1_000_000, kind="int"),
            Option(name="decimals", label="Decimals", default=18, kind="int"),
            Option(name="burnable", label="Holders can burn tokens", default=False, kind="bool"),
        ),
    )
)


def _cap_within_supply(params: Params) -> dict[str, str]:
    cap, supply = int(params.get("max_per_wallet") or 0), int(params.get("max_supply") or 0)
    if cap > supply > 0:
        return {
            "max_per_wallet": f"A cap of {cap:,} per wallet is above the maximum supply "
            f"({supply:,}), so it would cap nothing: give at most {supply:,}, or 0 for no cap."
        }
    return {}


register(
    DappTemplate(
        key="nft",
        contracts=(("contracts/Collection.sol", "{}"),),
        suffix="Collection",
        label="NFT collection",
        description=(
            "An ERC-721 collection that anyone can mint from at a fixed price up to a maximum "
            "supply, and a page to connect a wallet and mint."
        ),
        options=(
            Option(name="symbol", label="Collection symbol", default="NFT", kind="text"),
            Option(name="max_supply", label="Maximum supply", default=10_000, kind="int"),
            Option(
                name="mint_price",
                label="Mint price (ETH)",
                default="0",
                kind="ether",
                help="What each mint costs, in ETH (0.05 is 50,000,000,000,000,000 wei); "
                "0 makes minting free.",
            ),
            Option(
                name="max_per_wallet",
                label="Mints per wallet (0: no cap)",
                default=0,
                kind="int",
                help="How many tokens one address may mint; 0 lets anyone mint any number.",
            ),
            Option(
                name="base_uri",
                label="Metadata base URI",
                default="ipfs://",
                kind="text",
                help="Token URIs are this followed by the token id.",
            ),
            Option(
                name="royalties", label="Report 5% royalties (ERC-2981)", default=False, kind="bool"
            ),
        ),
        rules=(_cap_within_supply,),
    )
)

register(
    DappTemplate(
        key="dao",
        suffix="Dao",
        contracts=(
            ("contracts/DaoToken.sol", "{}Token"),
            ("contracts/DaoTimelock.sol", "{}Timelock"),
            ("contracts/DaoGovernor.sol", "{}"),
        ),
        only_if={"contracts/DaoTimelock.sol": "timelock_delay_s"},
        label="DAO voting",
        description=(
            "A governance token with vote delegation and an OpenZeppelin Governor to propose, "
            "vote on and execute decisions, and a page to do all three."
        ),
        options=(
            Option(
                name="token_symbol", label="Governance token symbol", default="GOV", kind="text"
            ),
            Option(
                name="voting_period_blocks",
                label="Voting period (blocks)",
                default=45_818,
                kind="int",
                help="How long a vote stays open; 45818 blocks is about a week.",
            ),
            Option(
                name="quorum_percent",
                label="Quorum (%)",
                default=4,
                kind="int",
                help="The share of the token supply that must vote for a proposal to pass.",
            ),
            Option(
                name="proposal_threshold",
                label="Votes needed to propose",
                default=1_000,
                kind="int",
                help="Of the 1,000,000 tokens, how many delegated votes a member needs to make "
                "a proposal.",
            ),
            Option(
                name="timelock_delay_s",
                label="Timelock delay (seconds; 0: no timelock)",
                default=0,
                kind="int",
                help="Passed proposals wait this long in a TimelockController before they can "
                "be executed (86400 is a day); 0 executes them at once.",
            ),
        ),
    )
)

register(
    DappTemplate(
        key="escrow",
        contracts=(("contracts/Escrow.sol", "{}"),),
        suffix="Escrow",
        label="Escrow marketplace",
        description=(
            "Sellers list items; a buyer's payment is held in escrow until the buyer confirms "
            "delivery, or an arbiter settles a dispute."
        ),
        options=(
            Option(
                name="fee_basis_points",
                label="Marketplace fee (basis points)",
                default=100,
                kind="int",
                help="Taken from each completed sale; 100 basis points is 1%.",
            ),
            Option(
                name="arbiter_required",
                label="Every listing needs an arbiter",
                default=True,
                kind="bool",
                help="Without an arbiter, a sale cannot be disputed.",
            ),
            Option(
                name="response_days",
                label="Days to ship or to confirm",
                default=7,
                kind="int",
                help="A seller who has not shipped within this many days of the payment lets "
                "the buyer take a refund; a buyer who neither confirms nor disputes within "
                "this many days of shipping lets the seller take the payment.",
            ),
        ),
    )
)


def template_defaults(key: str) -> dict[str, Any]:
    """Return the defaults of template `key`; raise KeyError if there is no such template."""
    return TEMPLATES[key].defaults()


def template_label(key: str) -> str:
    """Return what a person calls template `key` ("DAO voting"); the key itself if unknown."""
    template = TEMPLATES.get(key)
    return template.label if template is not None else key
