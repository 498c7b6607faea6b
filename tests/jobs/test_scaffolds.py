"""The shipped dApp templates: every one renders a coherent project, whatever the options.

No database: rendering is pure. Each project is also zipped and unpacked the way the pipeline
packages it, and checked again on disk.
"""

import io
import json
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from jobs.generation.render import project_context, render_project
from jobs.scaffolds import FRONTENDS, NETWORKS, TEMPLATES, template_defaults
from jobs.verify import CHECKS

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONTRACT_DECLARATION = re.compile(r"^\s*contract\s+(\S+)", re.MULTILINE)
README_FILE = re.compile(r"`([\w./-]+\.\w+)`")  # as jobs.verify reads the README
HOSTILE = (
    '1st "quoted" \'single\' back\\slash \\" </script><script>alert(1)</script> '
    "ünïcødé ☃ 日本 {{ not_a_variable }} {% comment %}\nsecond line"
)


def params_for(key: str, **overrides: Any) -> dict[str, Any]:
    return {**template_defaults(key), "name": "My Cool dApp", "template": key, **overrides}


def assert_checks_pass(files: dict[str, str]) -> None:
    for name, _label, check in CHECKS:
        assert check(files) == [], name


def unpack(files: dict[str, str], tmp_path: Path) -> Path:
    """Zip the files as jobs.pipeline._package does, unpack the zip and return its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(files.items()):
            archive.writestr(f"project/{path}", text)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "project"


def read_manifest(root: Path) -> dict[str, Any]:
    with (root / "dapp.toml").open("rb") as f:
        return tomllib.load(f)


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def contract_names(files: dict[str, str]) -> list[str]:
    return [
        name
        for path, text in files.items()
        if path.endswith(".sol")
        for name in CONTRACT_DECLARATION.findall(text)
    ]


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("key", TEMPLATES)
def test_template_renders_a_coherent_project(key, network, frontend, tmp_path):
    files = render_project(params_for(key, network=network, frontend=frontend))
    assert_checks_pass(files)

    root = unpack(files, tmp_path)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == set(files)
    for path in root.rglob("*.json"):
        read_json(path)
    for path in root.rglob("*.toml"):
        with path.open("rb") as f:
            tomllib.load(f)
    manifest = read_manifest(root)
    assert read_json(root / "package.json")["name"] == manifest["project"]["slug"]
    assert manifest["project"]["template"] == key
    assert manifest["network"]["name"] == network
    assert manifest["network"]["chain_id"] == NETWORKS[network]["chain_id"]
    assert manifest["frontend"]["flavour"] == frontend
    assert (root / manifest["frontend"]["entry"]).is_file()
    readme = (root / "README.md").read_text(encoding="utf-8")
    for ref in README_FILE.findall(readme):
        if "/" in ref or "." in ref:
            assert (root / ref).is_file(), ref


@pytest.mark.parametrize("key", TEMPLATES)
def test_template_renders_with_every_flag_flipped(key):
    template = TEMPLATES[key]
    flipped = {o.name: not o.default for o in template.options if o.kind == "bool"}
    files = render_project(params_for(key, **flipped))
    assert_checks_pass(files)


@pytest.mark.parametrize("key", TEMPLATES)
def test_hostile_text_still_renders_parseable_files(key, tmp_path):
    params = params_for(key, name=HOSTILE, description=HOSTILE, author=HOSTILE)
    files = render_project(params)
    assert_checks_pass(files)

    root = unpack(files, tmp_path)
    manifest = read_manifest(root)
    package = read_json(root / "package.json")
    assert manifest["project"]["name"] == HOSTILE
    assert package["description"] == HOSTILE
    assert package["author"] == HOSTILE
    read_json(root / "config" / "networks.json")
    assert IDENTIFIER.match(manifest["project"]["contract"])
    assert manifest["project"]["contract"].startswith("D1st")
    declared = contract_names(files)
    assert manifest["project"]["contract"] in declared
    assert all(IDENTIFIER.match(name) for name in declared), declared
    for path, text in files.items():
        if path.startswith("web/") and path.endswith(".js"):
            assert "</script>" not in text, path  # the page's strings escape `<`


@pytest.mark.parametrize(
    ("name", "contract", "slug"),
    [
        ("My Cool dApp", "MyCoolDApp", "my-cool-dapp"),
        ("1st Token", "D1stToken", "1st-token"),
        ("42", "D42", "42"),
        ("Café Crème", "CafeCreme", "cafe-creme"),
        ("!!! ☃ 日本", "Dapp", "dapp"),
        ("", "Dapp", "dapp"),
    ],
)
def test_contract_name_is_a_solidity_identifier(name, contract, slug):
    context = project_context(params_for("token", name=name))
    assert (context["contract_name"], context["slug"]) == (contract, slug)
    assert IDENTIFIER.match(context["contract_name"])


def test_unknown_template_raises_key_error():
    with pytest.raises(KeyError):
        template_defaults("no-such-template")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("key", TEMPLATES)
def test_javascript_files_are_valid_syntax(key, frontend, tmp_path):
    """A stray `{{` or `{%` in a template would break its JavaScript: node parses every file."""
    files = render_project(params_for(key, frontend=frontend, name=HOSTILE))
    for path, text in files.items():
        if not path.endswith(".js"):
            continue
        # The page's scripts are ES modules; the Hardhat scripts and tests are CommonJS.
        suffix = ".mjs" if path.startswith("web/") else ".cjs"
        script = tmp_path / (path.replace("/", "__") + suffix)
        script.write_text(text, encoding="utf-8")
        result = subprocess.run(
            ["node", "--check", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{path}: {result.stderr}"
