"""The project's modules import each other without cycles, and the transport stands alone.

Every `import` counts, at the top of a module or inside a function: a local import hides a
cycle from Python, not from a reader.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("composer_realtime", "realtime", "jobs", "dashboard", "api")
USERS = ("jobs", "dashboard", "api", "composer_realtime")
"""The packages that use the transport, through its front door only."""
FRONT_DOORS = {"realtime.api", "realtime.server_api"}


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


@pytest.mark.parametrize("other", USERS)
def test_the_transport_imports_nothing_of_the_project(other):
    graph = _graph()
    offenders = {
        name: deps
        for name, deps in graph.items()
        if name.startswith("realtime")
        and any(dep == other or dep.startswith(f"{other}.") for dep in deps)
    }
    assert offenders == {}


@pytest.mark.parametrize("package", USERS)
def test_the_project_uses_the_transport_through_its_front_door(package):
    offenders = {
        name: {d for d in deps if d.startswith("realtime.") and d not in FRONT_DOORS}
        for name, deps in _graph().items()
        if name.split(".")[0] == package
    }
    assert {name: deps for name, deps in offenders.items() if deps} == {}


def test_only_the_servers_own_code_uses_the_front_door_for_code_before_django():
    users = {
        name
        for name, deps in _graph().items()
        if "realtime.server_api" in deps and not name.startswith("realtime")
    }
    assert users == {"composer_realtime.http_protocol"}


def test_the_front_door_for_code_before_django_imports_no_django():
    graph = _graph()
    closure, todo = set(), ["realtime.server_api"]
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            todo += graph.get(name, ())
    django_users = {
        name
        for name in closure
        if any(
            imported == "django" or imported.startswith("django.")
            for imported in _all_imports(_path(name))
        )
    }
    assert django_users == set()


def test_gunicorn_loads_the_worker_class_before_django_is_set_up():
    """gunicorn imports the worker class (and the HTTP protocol) in its arbiter, with no
    settings: nothing on that path may need Django's apps. Nor may it load prometheus-client:
    that picks where metrics live (each process's memory, or the workers' shared folder) when
    first imported, and the arbiter names the shared folder only after loading the class (a
    server whose arbiter loaded it answered every scrape with an empty page)."""
    code = (
        "import sys; import composer_realtime.gunicorn_worker; "
        "assert 'django.apps' not in sys.modules, 'django loaded'; "
        "assert 'prometheus_client' not in sys.modules, 'prometheus_client loaded'"
    )
    env = {"PATH": "/usr/bin:/bin"}  # no DJANGO_SETTINGS_MODULE
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _path(module: str) -> Path:
    base = ROOT.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _all_imports(path: Path) -> set[str]:
    """Return every module name the module at `path` imports, the project's or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found
