"""The project's modules import each other without cycles, and the transport stands alone.

Every `import` counts, at the top of a module or inside a function: a local import hides a
cycle from Python, not from a reader.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("composer_realtime", "realtime", "jobs", "dashboard")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Return the project modules that the module at `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def _graph() -> dict[str, set[str]]:
    paths = [
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    ]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports(p, modules) for p in paths}
    # A package's __init__ runs before its submodules: importing `a.b` imports `a` too.
    for name in list(graph):
        graph[name] = {dep for dep in graph[name] if dep != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a path of module names, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_no_import_cycles():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


@pytest.mark.parametrize("other", ["jobs", "dashboard", "composer_realtime"])
def test_the_transport_imports_nothing_of_the_project(other):
    graph = _graph()
    offenders = {
        name: deps
        for name, deps in graph.items()
        if name.startswith("realtime")
        and any(dep == other or dep.startswith(f"{other}.") for dep in deps)
    }
    assert offenders == {}


def test_the_domain_uses_the_transport_through_its_front_door():
    graph = _graph()
    offenders = {
        name: {d for d in deps if d.startswith("realtime.") and d != "realtime.api"}
        for name, deps in graph.items()
        if name.split(".")[0] in {"jobs", "dashboard"}
    }
    assert {name: deps for name, deps in offenders.items() if deps} == {}
