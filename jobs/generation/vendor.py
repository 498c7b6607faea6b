"""The front-end libraries a generated page loads, copied from the toolchain's node_modules.

A generated page asks no other host for code: ethers (and React and htm for the React
flavour) are copied at the exact versions the toolchain's package-lock.json pins into
`web/vendor/`, with their licences in `web/vendor/NOTICE.md`.
"""

from dataclasses import dataclass
from functools import cache

from jobs.generation.toolchain import toolchain_dir, toolchain_versions


@dataclass(frozen=True, kw_only=True)
class Library:
    """One vendored file and the npm package it comes from."""

    package: str
    """The npm package."""
    source: str
    """Its path inside the package."""
    target: str
    """Where the project keeps it."""
    license_file: str
    """The package's licence file."""


ETHERS = Library(
    package="ethers",
    source="dist/ethers.min.js",
    target="web/vendor/ethers.min.js",
    license_file="LICENSE.md",
)
REACT = (
    Library(
        package="react",
        source="umd/react.production.min.js",
        target="web/vendor/react.production.min.js",
        license_file="LICENSE",
    ),
    Library(
        package="react-dom",
        source="umd/react-dom.production.min.js",
        target="web/vendor/react-dom.production.min.js",
        license_file="LICENSE",
    ),
    Library(
        package="htm",
        source="dist/htm.module.js",
        target="web/vendor/htm.module.js",
        license_file="LICENSE",
    ),
)


def libraries(frontend: str) -> tuple[Library, ...]:
    """Return the libraries a page of this front-end flavour loads."""
    return (ETHERS, *REACT) if frontend == "react" else (ETHERS,)


def package_version(package: str) -> str:
    """Return the pinned version of a vendored package (react-dom is React's)."""
    versions = toolchain_versions()
    return {"ethers": versions.ethers, "htm": versions.htm}.get(package, versions.react)


def vendored_files(frontend: str) -> dict[str, str]:
    """Return {path: text} of the libraries and of the notice that credits them."""
    files = {lib.target: _read(lib.package, lib.source) for lib in libraries(frontend)}
    files["web/vendor/NOTICE.md"] = _notice(libraries(frontend))
    return files


def _read(package: str, path: str) -> str:
    return _read_text(str(toolchain_dir() / "node_modules" / package / path))


@cache
def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _notice(libs: tuple[Library, ...]) -> str:
    parts = [
        "# Vendored libraries\n\nCopied unchanged from npm, so that the page loads nothing "
        "from any other host.\n"
    ]
    for lib in libs:
        version = package_version(lib.package)
        licence = _read(lib.package, lib.license_file).strip()
        parts.append(
            f"\n## {lib.package} {version}\n\n`{lib.target}` is `{lib.source}` of "
            f"{lib.package}@{version}.\n\n```text\n{licence}\n```\n"
        )
    return "".join(parts)
