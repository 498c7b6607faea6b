"""The dApp templates that ship with the app: their options, files and contracts.

Each template is a folder under `files/` whose text files are Django templates rendered with
the job's parameters (by `jobs.generation.render`); `TEMPLATES` describes each one's options,
their defaults and the contracts it generates.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILES_DIR = Path(__file__).resolve().parent / "files"
NETWORKS = {
    "devnet": {"label": "Local devnet", "rpc_url": "http://127.0.0.1:8545", "chain_id": 31337},
    "testnet": {
        "label": "Public testnet",
        "rpc_url": "https://rpc.testnet.example",
        "chain_id": 11155111,
    },
    "mainnet": {"label": "Mainnet", "rpc_url": "https://rpc.mainnet.example", "chain_id": 1},
}
FRONTENDS = {"vanilla": "Plain HTML + JavaScript", "react": "React (via CDN, no build step)"}


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
    """choice, bool, int or text."""
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

    def defaults(self) -> dict[str, Any]:
        """Return every option's default, common options included."""
        return {option.name: option.default for option in (*COMMON_OPTIONS, *self.options)}

    def files(self) -> list[Path]:
        """Return the template's source files, relative to its folder, sorted."""
        root = FILES_DIR / self.key
        return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


COMMON_OPTIONS = (
    Option(name="description", label="Description", default="", kind="text"),
    Option(name="author", label="Author", default="", kind="text"),
    Option(
        name="network",
        label="Target network",
        default="devnet",
        choices=tuple(NETWORKS),
        help="Where the contracts will be deployed first.",
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
                name="mint_price_wei",
                label="Mint price (wei)",
                default=0,
                kind="int",
                help="What each mint costs, in wei; 0 makes minting free.",
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
    )
)

register(
    DappTemplate(
        key="dao",
        suffix="Dao",
        contracts=(("contracts/DaoToken.sol", "{}Token"), ("contracts/DaoGovernor.sol", "{}")),
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
