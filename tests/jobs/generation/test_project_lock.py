"""The package-lock.json every generated project ships: npm's own (scripts/project-lock), in
step with the package.json the scaffold renders, pinning every package by its integrity."""

import json

import pytest

from jobs.generation.render import render_project
from jobs.scaffolds import NETWORKS, PROJECT_LOCK, TEMPLATES, template_defaults

REGENERATE = "the scaffold's package.json changed: run scripts/project-lock"


def rendered(key: str, network: str) -> dict[str, str]:
    params = {**template_defaults(key), "name": "Lock Check", "template": key, "network": network}
    return render_project(params)


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("key", TEMPLATES)
def test_the_lock_asks_for_exactly_what_package_json_asks_for(key, network):
    files = rendered(key, network)
    package, lock = json.loads(files["package.json"]), json.loads(files["package-lock.json"])
    root = lock["packages"][""]
    assert root["devDependencies"] == package["devDependencies"], REGENERATE
    assert (lock["name"], root["name"], root["version"]) == (
        package["name"],
        package["name"],
        package["version"],
    )
    assert not package.get("dependencies") and "dependencies" not in root


def test_every_locked_package_is_pinned_by_integrity_from_the_registry():
    lock = json.loads(PROJECT_LOCK.read_text())
    assert lock["lockfileVersion"] == 3
    packages = {path: entry for path, entry in lock["packages"].items() if path}
    assert len(packages) > 100
    for path, entry in packages.items():
        assert entry["version"] and entry["integrity"].startswith("sha512-"), path
        assert entry["resolved"].startswith("https://registry.npmjs.org/"), path


def test_the_compiler_and_contracts_are_the_ones_the_composer_used():
    lock = json.loads(PROJECT_LOCK.read_text())["packages"]
    toolchain = json.loads(
        (PROJECT_LOCK.parents[2] / "toolchain" / "package-lock.json").read_text()
    )
    for package in ("solc", "@openzeppelin/contracts", "ethers"):
        key = f"node_modules/{package}"
        assert lock[key]["integrity"] == toolchain["packages"][key]["integrity"], package
