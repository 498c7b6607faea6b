"""Stage 1: render a template's files into the project's text files.

Files are rendered as what they are: only `.html` pages are HTML-escaped; every other value goes
through the filter of its file's language (`jobs.generation.filters`). Names come from
`jobs.generation.names`, so the slug and the contract names are the same in every file.
"""

from functools import cache
from typing import Any

from django.template import Context, Engine

from jobs.generation import names
from jobs.generation.toolchain import toolchain_versions
from jobs.scaffolds import FILES_DIR, FRONTENDS, NETWORKS, TEMPLATES

Files = dict[str, str]


@cache
def _engine(key: str) -> Engine:
    return Engine(
        dirs=[str(FILES_DIR / key)], builtins=["jobs.generation.filters"], autoescape=False
    )


def render_project(params: dict[str, Any]) -> Files:
    """Return {relative path: text} of the project the parameters describe."""
    template = TEMPLATES[params["template"]]
    engine = _engine(template.key)
    values = project_context(params)
    return {
        str(path): engine.get_template(str(path)).render(
            Context(values, autoescape=path.suffix == ".html")
        )
        for path in template.files()
    }


def project_context(params: dict[str, Any]) -> dict[str, Any]:
    """Return the names every template file may use."""
    template = TEMPLATES[params["template"]]
    return {
        **params,
        "slug": names.project_slug(params["name"]),
        "contract_name": names.contract_name(params["name"], template),
        "network_info": NETWORKS[params["network"]],
        "networks": NETWORKS,
        "frontend_label": FRONTENDS[params["frontend"]],
        "template_label": template.label,
        "toolchain": toolchain_versions(),
    }
