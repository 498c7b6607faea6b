"""The transport's front doors (realtime/api.py, realtime/server_api.py) name only what the
project uses: a name no caller imports is an internal leaking out, or dead."""

import ast
from pathlib import Path

import pytest

from realtime import api, server_api

ROOT = Path(__file__).resolve().parents[2]
CALLERS = ("jobs", "dashboard", "api", "composer_realtime")


def _used_from(front_door: str) -> set[str]:
    """Return the names the callers import from `front_door` (or name in a dotted path)."""
    used: set[str] = set()
    for package in CALLERS:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ImportFrom) and node.module == front_door:
                    used |= {alias.name for alias in node.names}
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if node.value.startswith(f"{front_door}."):
                        used.add(node.value.removeprefix(f"{front_door}."))
    return used


@pytest.mark.parametrize("front_door", [api, server_api])
def test_every_name_of_a_front_door_is_used_by_the_project(front_door):
    assert set(front_door.__all__) - _used_from(front_door.__name__) == set()


@pytest.mark.parametrize("front_door", [api, server_api])
def test_every_name_of_a_front_door_is_there(front_door):
    assert all(hasattr(front_door, name) for name in front_door.__all__)
