"""Generated pages load their libraries from web/vendor/, copied from the toolchain's pinned
node_modules, and ask no other host for anything."""

import re

import pytest

from jobs.generation.render import render_project
from jobs.generation.toolchain import toolchain_dir, toolchain_versions
from jobs.generation.vendor import libraries
from jobs.scaffolds import FRONTENDS, TEMPLATES, template_defaults

# Any URL in a page's files, but the devnet's own and placeholders people type over.
URL = re.compile(r"\b(?:https?:)?//[\w.-]+")
LOCAL = ("//127.0.0.1", "//localhost")


def page_files(key: str, frontend: str) -> dict[str, str]:
    params = {**template_defaults(key), "name": "Vendor Check", "template": key}
    files = render_project({**params, "frontend": frontend})
    return {path: text for path, text in files.items() if path.startswith("web/")}


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_the_libraries_are_the_toolchains_files_byte_for_byte(frontend):
    files = page_files("token", frontend)
    for lib in libraries(frontend):
        source = toolchain_dir() / "node_modules" / lib.package / lib.source
        assert files[lib.target] == source.read_text(encoding="utf-8"), lib.target
    notice = files["web/vendor/NOTICE.md"]
    versions = toolchain_versions()
    assert f"## ethers {versions.ethers}" in notice and "MIT License" in notice
    if frontend == "react":
        assert f"## react {versions.react}" in notice and f"## htm {versions.htm}" in notice
    else:
        assert not any("react" in path for path in files)


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("key", TEMPLATES)
def test_pages_name_no_other_host_and_load_every_library_from_vendor(key, frontend):
    files = page_files(key, frontend)
    ours = {p: t for p, t in files.items() if not p.startswith("web/vendor/")}
    for path, text in ours.items():
        hosts = [u for u in URL.findall(text) if not u.startswith(LOCAL)]
        assert hosts == [], (path, hosts)
    imports = re.findall(r'from "([^"]+)"', files["web/app.js"] + files["web/wallet.js"])
    assert imports and all(i.startswith("./") for i in imports), imports
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', files["web/index.html"])
    expected = {"react": ["vendor/react.production.min.js", "vendor/react-dom.production.min.js"]}
    assert scripts == [*expected.get(frontend, []), "app.js"]
    assert '<meta name="viewport"' in files["web/index.html"]
    for target in (*scripts, *(i.removeprefix("./") for i in imports)):
        assert f"web/{target}" in files, target


@pytest.mark.parametrize("key", TEMPLATES)
def test_the_react_option_makes_a_react_page(key):
    plain, react = page_files(key, "vanilla"), page_files(key, "react")
    assert "window.ReactDOM.createRoot" in react["web/app.js"]
    assert "window.React" not in plain["web/app.js"] and "htm" not in plain["web/app.js"]
    assert '<div id="root">' in react["web/index.html"]
    assert '<div id="root">' not in plain["web/index.html"]
