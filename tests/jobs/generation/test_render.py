"""Generated files are text, not HTML: only the page is HTML-escaped."""

import json
import tomllib

from jobs.generation.render import render_project
from jobs.generation.toolchain import toolchain_versions
from jobs.scaffolds import template_defaults

TRICKY = 'Don\'t <b>break</b> "quotes" & */'


def test_text_files_carry_the_text_as_typed():
    params = {
        **template_defaults("token"),
        "name": "Tom & Jerry's",
        "template": "token",
        "description": TRICKY,
        "author": "Zoë first-time",
    }
    files = render_project(params)
    assert files["README.md"].startswith("# Tom & Jerry's\n")
    assert TRICKY in files["README.md"]
    package = json.loads(files["package.json"])
    assert (package["name"], package["description"], package["author"]) == (
        "tom-jerry-s",
        TRICKY,
        "Zoë first-time",
    )
    assert '"Zoë first-time"' in files["package.json"]  # not \u00eb, not \u002D
    assert tomllib.loads(files["dapp.toml"])["project"]["name"] == "Tom & Jerry's"
    assert "Don't <b>break</b>" in files["contracts/Token.sol"]
    assert "&amp;" not in "".join(t for p, t in files.items() if not p.endswith(".html"))
    assert "&amp; Jerry&#x27;s" in files["web/index.html"]


def test_the_hardhat_config_names_the_compiler_that_was_used():
    files = render_project({**template_defaults("dao"), "name": "Pinned", "template": "dao"})
    versions = toolchain_versions()
    assert f'version: "{versions.solc}"' in files["hardhat.config.js"]
    assert f'"@openzeppelin/contracts": "{versions.openzeppelin}"' in files["package.json"]
    assert json.loads(files["package.json"])["devDependencies"]["serve"]
