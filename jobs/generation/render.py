"""Stage 1: render a template's files into the project's text files.

Files are rendered as what they are: only `.html` pages are HTML-escaped; every other value goes
through the filter of its file's language (`jobs.generation.filters`). Names come from
`jobs.generation.names`, so the slug and the contract names are the same in every file. The
front-end libraries are copied from the toolchain (`jobs.generation.vendor`) and the
package-lock.json is the one npm wrote for the scaffold (`scripts/project-lock`).
"""

import json
from functools import cache
from typing import Any

from django.template import Context, Engine

from jobs.generation import names
from jobs.generation.toolchain import toolchain_versions
from jobs.generation.vendor import vendored_files
from jobs.scaffolds import FILES_DIR, FRONTENDS, NETWORKS, PROJECT_LOCK, SHARED_DIR, TEMPLATES
from jobs.scaffolds.ether import to_wei

Files = dict[str, str]


@cache
def _engine(key: str) -> Engine:
    # The template's own file first, the shared one when it has none.
    return Engine(
        dirs=[str(FILES_DIR / key), str(SHARED_DIR)],
        builtins=["jobs.generation.filters"],
        autoescape=False,
    )


def render_project(params: dict[str, Any]) -> Files:
    """Return {relative path: text} of the project the parameters describe."""
    values = project_context(params)
    files = {
        str(path): render_file(params, str(path), values)
        for path in TEMPLATES[params["template"]].files(params)
    }
    files.update(vendored_files(params["frontend"]))
    files["package-lock.json"] = project_lock(values["slug"])
    return files


def render_file(params: dict[str, Any], path: str, values: dict[str, Any] | None = None) -> str:
    """Return one file of the project the parameters describe."""
    engine = _engine(params["template"])
    context = Context(values or project_context(params), autoescape=path.endswith(".html"))
    return engine.get_template(path).render(context)


def project_context(params: dict[str, Any]) -> dict[str, Any]:
    """Return the names every template file may use."""
    template = TEMPLATES[params["template"]]
    contracts = names.generated_contracts(params["name"], template, params)
    extra: dict[str, Any] = {}
    if "mint_price" in params:
        extra["mint_price_wei"] = to_wei(params["mint_price"])
    return {
        **params,
        **extra,
        "slug": names.project_slug(params["name"]),
        "contract_name": names.contract_name(params["name"], template),
        "contracts": list(contracts.values()),
        "network_info": NETWORKS[params["network"]],
        "networks": NETWORKS,
        "devnet": NETWORKS["devnet"],
        "frontend_label": FRONTENDS[params["frontend"]],
        "template_label": template.label,
        "toolchain": toolchain_versions(),
    }


def project_lock(slug: str) -> str:
    """Return the scaffold's package-lock.json under the project's own name."""
    lock = json.loads(_lock_text())
    lock["name"] = lock["packages"][""]["name"] = slug
    return json.dumps(lock, indent=2, ensure_ascii=False) + "\n"


@cache
def _lock_text() -> str:
    return PROJECT_LOCK.read_text(encoding="utf-8")
