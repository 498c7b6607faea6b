"""Checks that a generated project is coherent before anyone downloads it."""

import json
import re
import tomllib
from collections.abc import Callable

Files = dict[str, str]
Check = Callable[[Files], list[str]]

_NPM_RUN = re.compile(r"npm run ([\w:-]+)")
# The README's commands are its code: fenced blocks and `inline code`. The developer's own text
# (a description that mentions `npm run pwn`) reaches the README with its backticks escaped
# (`jobs.generation.filters.markdown_text`): it is prose, not a step.
_CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(?<!\\)`([^`\n]+?)(?<!\\)`")
# Project files only: a description's `v1.0` is not a path.
_FILE_REF = re.compile(r"`([\w./-]+\.(?:sol|js|json|toml|html|css|md))`")
_CONTRACT = re.compile(r"^\s*contract\s+(\w+)", re.MULTILINE)


def check_syntax(files: Files) -> list[str]:
    """Return an error for every JSON or TOML file that does not parse."""
    errors = []
    for path, text in files.items():
        try:
            if path.endswith(".json"):
                json.loads(text)
            elif path.endswith(".toml"):
                tomllib.loads(text)
        except ValueError as exc:
            errors.append(f"{path} does not parse: {exc}")
    return errors


def check_names(files: Files) -> list[str]:
    """Return an error for every name that differs between the manifest and other files."""
    manifest = tomllib.loads(files["dapp.toml"])["project"]
    errors = []
    package = json.loads(files.get("package.json", "{}"))
    if package.get("name") != manifest["slug"]:
        errors.append(f"package.json name {package.get('name')!r} != {manifest['slug']!r}")
    declared = {
        m for path, text in files.items() if path.endswith(".sol") for m in _CONTRACT.findall(text)
    }
    if manifest["contract"] not in declared:
        errors.append(f"no contract named {manifest['contract']!r} in contracts/")
    deploy = files.get("scripts/deploy.js", "")
    if manifest["contract"] not in deploy:
        errors.append("scripts/deploy.js does not deploy the manifest's contract")
    return errors


def check_readme(files: Files) -> list[str]:
    """Return an error for every README command or file that the project lacks."""
    readme = files.get("README.md", "")
    scripts = json.loads(files.get("package.json", "{}")).get("scripts", {})
    prose = _CODE_BLOCK.sub("", readme)
    commands = "\n".join([*_CODE_BLOCK.findall(readme), *_INLINE_CODE.findall(prose)])
    errors = [
        f"README runs `npm run {name}` but package.json has no such script"
        for name in _NPM_RUN.findall(commands)
        if name not in scripts
    ]
    errors += [
        f"README mentions {path}, which the project lacks"
        for path in _FILE_REF.findall(readme)
        if path not in files
    ]
    return errors


CHECKS: tuple[tuple[str, str, Check], ...] = (
    ("check-syntax", "Check JSON and TOML files parse", check_syntax),
    ("check-names", "Check names agree across files", check_names),
    ("check-readme", "Check the README's commands and files", check_readme),
)
