"""Stage 2: compile every contract of the project with solc-js, one source file at a time.

Each file is one standard-JSON input; its output is kept in a content-addressed cache on disk
(key: the toolchain's lockfile, which pins solc and OpenZeppelin, plus the exact input), the way
build tools keep theirs, so the same sources never compile twice on a machine.
"""

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from jobs.generation.toolchain import Toolchain, lockfile_bytes, toolchain_versions

Files = dict[str, str]
_LOCATION = re.compile(r"-->\s*([^\s:]+):(\d+):(\d+):")


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One error or warning of the compiler, located."""

    severity: str
    """error or warning."""
    where: str
    """file:line, or the file alone when the compiler gave no line."""
    message: str
    """The compiler's message, e.g. "DeclarationError: Identifier already declared."."""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """A compiled contract: what a deployment and a frontend need."""

    contract: str
    """The contract's name."""
    source: str
    """The source file it is declared in."""
    abi: list[dict[str, Any]]
    """Its ABI."""
    bytecode: str
    """Creation bytecode, hex without 0x."""
    deployed_bytecode: str
    """Runtime bytecode, hex without 0x."""

    def as_json(self, *, compiler: str) -> dict[str, Any]:
        """Return the artifact as the JSON file the project ships."""
        return {
            "contractName": self.contract,
            "sourceName": self.source,
            "compiler": compiler,
            "abi": self.abi,
            "bytecode": f"0x{self.bytecode}",
            "deployedBytecode": f"0x{self.deployed_bytecode}",
        }


@dataclass(kw_only=True)
class FileResult:
    """The outcome of compiling one source file."""

    path: str
    """The source file."""
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    """Its contracts, by name."""
    warnings: list[Diagnostic] = field(default_factory=list)
    """The compiler's warnings."""
    errors: list[Diagnostic] = field(default_factory=list)
    """The compiler's errors (none when it compiled)."""
    cached: bool = False
    """True when the output came from the cache."""
    seconds: float = 0.0
    """How long it took, cache look-up included."""


class CompileFailed(Exception):
    """A contract did not compile; `diagnostics` are the compiler's errors, first first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        shown = "; ".join(str(d) for d in diagnostics[:3])
        more = f" (and {len(diagnostics) - 3} more)" if len(diagnostics) > 3 else ""
        super().__init__(f"{shown}{more}")


def standard_input(path: str, source: str) -> dict[str, Any]:
    """Return the standard-JSON input that compiles one file as the generated project does."""
    versions = toolchain_versions()
    return {
        "language": "Solidity",
        "sources": {path: {"content": source}},
        "settings": {
            "evmVersion": versions.evm,
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {
                path: {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def cache_key(compiler_input: dict[str, Any]) -> str:
    """Return the content address of an input: lockfile and input, canonically encoded."""
    digest = hashlib.sha256(lockfile_bytes())
    digest.update(json.dumps(compiler_input, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _cache_dir() -> Path:
    return Path(settings.JOBS_BUILD_CACHE_DIR) / "solc"


def _cache_path(key: str) -> Path:
    return _cache_dir() / key[:2] / f"{key}.json"


def _cached_output(key: str) -> dict[str, Any] | None:
    path = _cache_path(key)
    try:
        output: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)  # its time is its last use: the trim keeps the recently used
    except (OSError, ValueError):
        return None
    return output


@dataclass(frozen=True, kw_only=True, slots=True)
class Trimmed:
    """What a trim of the compile cache did."""

    removed: int
    """Entries deleted (too old, then the least recently used past the size bound)."""
    kept: int
    """Entries left."""
    kept_bytes: int
    """Their size."""


def cache_trim(*, max_bytes: int, max_age_s: float) -> Trimmed:
    """Delete the cache entries unused for `max_age_s`, then the least recently used until the
    rest fits in `max_bytes`; remove the folders left empty."""
    entries = sorted(_cache_entries(), key=lambda entry: entry[1])  # least recently used first
    horizon, total = time.time() - max_age_s, sum(size for _, _, size in entries)
    removed = 0
    for path, used, size in entries:
        if used >= horizon and total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total, removed = total - size, removed + 1
    for folder in _cache_dir().glob("*/"):
        with suppress(OSError):  # not empty (or gone): kept
            folder.rmdir()
    return Trimmed(removed=removed, kept=len(entries) - removed, kept_bytes=total)


def _cache_entries() -> Iterator[tuple[Path, float, int]]:
    """Yield (path, last use, size) of every cache entry (and of writes a crash left)."""
    for path in _cache_dir().glob("*/*"):
        with suppress(OSError):  # deleted meanwhile by another worker's trim
            stat = path.stat()
            yield path, stat.st_mtime, stat.st_size


def cache_trim_now() -> Trimmed:
    """Trim the cache to the bounds of the settings."""
    return cache_trim(
        max_bytes=settings.JOBS_BUILD_CACHE_MAX_MB * 1024 * 1024,
        max_age_s=settings.JOBS_BUILD_CACHE_MAX_AGE_DAYS * 86_400,
    )


TRIM_EVERY_S = 600.0
"""How often a worker that stores entries trims the cache (purge_old trims daily as well)."""
_last_trim = [float("-inf")]


def _store_output(key: str, output: dict[str, Any]) -> None:
    path = _cache_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a reader in another worker sees the whole file or none.
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp"
    ) as handle:
        json.dump(output, handle)
    os.replace(handle.name, path)
    if time.monotonic() - _last_trim[0] > TRIM_EVERY_S:
        _last_trim[0] = time.monotonic()
        cache_trim_now()


def compile_file(
    path: str,
    source: str,
    *,
    toolchain: Toolchain,
    should_stop: Callable[[], bool],
    timeout_s: float,
) -> FileResult:
    """Compile one source file (from the cache when the same input compiled before)."""
    started = time.monotonic()
    compiler_input = standard_input(path, source)
    key = cache_key(compiler_input)
    output = _cached_output(key)
    cached = output is not None
    if output is None:
        answer = toolchain.request(
            "compile", input=compiler_input, should_stop=should_stop, timeout_s=timeout_s
        )
        output = answer["output"]
        if not any(d.severity == "error" for d in _diagnostics(output)):
            _store_output(key, output)  # failures are cheap to redo and worth seeing afresh
    result = _file_result(path, output)
    result.cached, result.seconds = cached, time.monotonic() - started
    return result


def _file_result(path: str, output: dict[str, Any]) -> FileResult:
    diagnostics = list(_diagnostics(output))
    result = FileResult(
        path=path,
        errors=[d for d in diagnostics if d.severity == "error"],
        warnings=[d for d in diagnostics if d.severity != "error"],
    )
    for name, compiled in output.get("contracts", {}).get(path, {}).items():
        result.artifacts[name] = Artifact(
            contract=name,
            source=path,
            abi=compiled["abi"],
            bytecode=compiled["evm"]["bytecode"]["object"],
            deployed_bytecode=compiled["evm"]["deployedBytecode"]["object"],
        )
    return result


def _diagnostics(output: dict[str, Any]) -> Iterator[Diagnostic]:
    for entry in output.get("errors", []):
        formatted = str(entry.get("formattedMessage", ""))
        found = _LOCATION.search(formatted)
        location = entry.get("sourceLocation", {})
        where = f"{found[1]}:{found[2]}" if found else str(location.get("file", "<input>"))
        yield Diagnostic(
            severity=str(entry.get("severity", "error")),
            where=where,
            message=f"{entry.get('type', 'Error')}: {entry.get('message', '')}",
        )
