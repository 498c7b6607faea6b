"""The jobs app's modules import each other without a cycle (local imports included)."""

import ast
from pathlib import Path

import jobs

ROOT = Path(jobs.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = ["jobs", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found.update(name for name in names if name in known)
    return found


def test_no_import_cycle_in_jobs():
    paths = [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts]
    known = {module_name(p) for p in paths}
    graph = {module_name(p): imported(ast.parse(p.read_text(encoding="utf-8")), known)
             for p in paths}

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(node):], node]))
        for child in sorted(graph.get(node, ())):
            visit(child, [*trail, node])

    for start in sorted(graph):
        visit(start, [])
