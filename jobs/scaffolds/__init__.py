"""The dApp templates that ship with the app, and how a project is rendered from one.

Each template is a folder under `files/` whose text files are Django templates rendered with
the job's parameters; `TEMPLATES` describes each one's options and their defaults.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.template import Context, Engine

FILES_DIR = Path(__file__).resolve().parent / "files"
NETWORKS = {
    "devnet": {"label": "Local devnet", "rpc_url": "http://127.0.0.1:8545", "chain_id": 31337},
    "testnet": {"label": "Public testnet", "rpc_url": "https://rpc.testnet.example",
                "chain_id": 11155111},
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
    Option(name="network", label="Target network", default="devnet",
           choices=tuple(NETWORKS), help="Where the contracts will be deployed first."),
    Option(name="frontend", label="Frontend flavour", default="vanilla",
           choices=tuple(FRONTENDS)),
)

TEMPLATES: dict[str, DappTemplate] = {}


def register(template: DappTemplate) -> DappTemplate:
    """Add a template to the registry."""
    TEMPLATES[template.key] = template
    return template


register(DappTemplate(
    key="token", label="Fungible token",
    description="An ERC-20 style token with a fixed supply minted to the deployer, "
                "and a page to check balances and send tokens.",
    options=(
        Option(name="symbol", label="Token symbol", default="TKN", kind="text"),
        Option(name="initial_supply", label="Initial supply", default=1_000_000, kind="int"),
        Option(name="decimals", label="Decimals", default=18, kind="int"),
        Option(name="burnable", label="Holders can burn tokens", default=False, kind="bool"),
    ),
))


def template_defaults(key: str) -> dict[str, Any]:
    """Return the defaults of template `key`; raise KeyError if there is no such template."""
    return TEMPLATES[key].defaults()


def render_project(params: dict[str, Any]) -> dict[str, str]:
    """Return {relative path: text} of the project the parameters describe."""
    template = TEMPLATES[params["template"]]
    engine = Engine(dirs=[str(FILES_DIR / template.key)], autoescape=False)
    context = Context(project_context(params))
    return {
        str(path): engine.get_template(str(path)).render(context) for path in template.files()
    }


def project_context(params: dict[str, Any]) -> dict[str, Any]:
    """Return the names every template file may use."""
    name = params["name"]
    words = "".join(c if c.isalnum() else " " for c in name).split()
    return {
        **params,
        "slug": "-".join(w.lower() for w in words) or "dapp",
        "contract_name": "".join(w[:1].upper() + w[1:] for w in words) or "Dapp",
        "network_info": NETWORKS[params["network"]],
        "networks": NETWORKS,
        "frontend_label": FRONTENDS[params["frontend"]],
        "template_label": TEMPLATES[params["template"]].label,
    }
