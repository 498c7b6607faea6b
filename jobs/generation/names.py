"""Names derived from a project's name: one slug everywhere, contract names that compile.

A contract named after the project must not collide with anything its source file already
declares or imports (`contract ERC20 is ERC20` does not compile), nor with a Solidity keyword.
The names a template's sources use are read from the sources themselves, so a new import in a
template is covered without a list to keep in step.
"""

import re
import unicodedata
from functools import cache

from jobs.scaffolds import FILES_DIR, DappTemplate, Params

# Keywords, reserved words and global names of Solidity 0.8 (the language reference's lists).
SOLIDITY_RESERVED = frozenset(
    """
abstract after alias anonymous apply as assembly auto break byte bytes calldata case catch
constant constructor continue contract copyof default define delete do else emit enum error
event external fallback false final for function global if immutable implements import in
indexed inline interface internal is let library macro mapping match memory modifier mutable
new null of override partial payable pragma private promise public pure receive reference
relocatable return returns revert sealed sizeof static storage string struct super supports
switch this throw true try type typedef typeof unchecked unicode using var view virtual while
abi block blockhash gasleft msg now selfdestruct tx wei gwei ether seconds minutes hours days
weeks years address bool int uint fixed ufixed assert require keccak256 sha256 ripemd160
ecrecover addmod mulmod
""".split()
)

_IMPORTED = re.compile(r"^\s*import\s*\{([^}]*)\}", re.MULTILINE)
_DECLARED = re.compile(
    r"\b(?:contract|interface|library|struct|enum|error|event|function|modifier)\s+([A-Za-z_]\w*)"
)
_WHOLE_IMPORT = re.compile(r"^\s*import\s+\"([^\"]+)\"", re.MULTILINE)


def ascii_words(name: str) -> list[str]:
    """Return the name's words in ASCII: accents dropped, other scripts and punctuation gone."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else " " for c in folded).split()


SLUG_MAX = 40
"""Longer slugs are cut at a word: the stored zip's path (projects/<uuid>/<slug>-<template>.zip)
must fit the artifact field's 100 characters."""


def project_slug(name: str) -> str:
    """Return the one slug of a project: package name, manifest and download folder."""
    slug = "-".join(w.lower() for w in ascii_words(name)) or "dapp"
    if len(slug) <= SLUG_MAX:
        return slug
    head = slug[: SLUG_MAX + 1]
    return head.rsplit("-", 1)[0] if "-" in head else slug[:SLUG_MAX]


def base_contract_name(name: str) -> str:
    """Return the project's name as a Solidity identifier in PascalCase, before any clash."""
    joined = "".join(w[:1].upper() + w[1:] for w in ascii_words(name)) or "Dapp"
    return f"D{joined}" if joined[0].isdigit() else joined


def contract_name(name: str, template: DappTemplate) -> str:
    """Return the project's contract name, lengthened until no generated contract clashes."""
    taken = reserved_names(template.key)
    candidate = base_contract_name(name)
    while any(_clashes(pattern.format(candidate), taken) for _, pattern in template.contracts):
        candidate += template.suffix
    return candidate


def generated_contracts(
    name: str, template: DappTemplate, params: Params | None = None
) -> dict[str, str]:
    """Return {source file: contract name} of every contract the project declares, in
    deployment order (with `params`, only the contracts its options produce)."""
    base = contract_name(name, template)
    pairs = template.contracts if params is None else template.contracts_for(params)
    return {path: pattern.format(base) for path, pattern in pairs}


def _clashes(identifier: str, taken: frozenset[str]) -> bool:
    return identifier in taken or identifier.lower() in SOLIDITY_RESERVED


@cache
def reserved_names(key: str) -> frozenset[str]:
    """Return every name the template's Solidity sources import or declare."""
    names: set[str] = set()
    for path in (FILES_DIR / key).rglob("*.sol"):
        text = path.read_text(encoding="utf-8")
        if _WHOLE_IMPORT.search(text):
            raise ValueError(f"{path}: import symbols by name, so their names are known")
        for group in _IMPORTED.findall(text):
            names.update(part.split(" as ")[-1].strip() for part in group.split(","))
        names.update(_DECLARED.findall(text))
    return frozenset(n for n in names if n)
