"""Generated files are text, not HTML: only the page is HTML-escaped, and the README shows the
developer's text as text."""

import json
import re
import tomllib

import pytest
from markdown_it import MarkdownIt

from jobs.generation.render import render_project
from jobs.generation.toolchain import toolchain_versions
from jobs.scaffolds import TEMPLATES, template_defaults

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
    readme = MarkdownIt("commonmark").render(files["README.md"])
    assert readme.startswith("<h1>Tom &amp; Jerry's</h1>\n")
    assert "<p>Don't &lt;b&gt;break&lt;/b&gt; &quot;quotes&quot; &amp; */</p>" in readme
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
    dependencies = json.loads(files["package.json"])["devDependencies"]
    assert dependencies["@openzeppelin/contracts"] == versions.openzeppelin
    assert dependencies["solc"] == versions.solc  # Hardhat compiles with it: no download
    assert dependencies["ethers"] == versions.ethers  # the one web/vendor/ holds
    assert "TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD" in files["hardhat.config.js"]


MARKUP = (
    "Run `npm run pwn` now <!-- the rest is hidden --> *bold* [link](https://x.example) "
    "<img src=x onerror=alert(1)> &amp; | a | b | ~~gone~~ \\ end"
)


@pytest.mark.parametrize("key", TEMPLATES)
@pytest.mark.parametrize("start", ["# ", "1. ", "- ", "> ", "= ", ""])
def test_the_readme_shows_user_text_as_text_never_as_markup(key, start):
    text = start + MARKUP
    params = {**template_defaults(key), "name": text, "template": key}
    params.update(description=text, author=text)
    html = (
        MarkdownIt("commonmark")
        .enable("table")
        .enable("strikethrough")
        .render(render_project(params)["README.md"])
    )
    shown = (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    assert html.startswith(f"<h1>{shown}</h1>\n"), html[:300]
    assert f"<p>{shown}</p>" in html
    assert f"<p>Author: {shown}</p>" in html
    assert not re.search(
        r"<(img|a|em|strong|s|del|table|ol|ul|blockquote|code)\b[^>]*>[^<]*(bold|link|gone|pwn)",
        html,
    )
