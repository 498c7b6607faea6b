"""The shipped Prometheus alert rules and Grafana dashboard (deploy/): valid, unit-tested, and
naming only metrics that a live server exports."""

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from jobs import services
from tests.support.servers import ROOT, WebServer

PROMTOOL = "/usr/bin/promtool"
RULES = ROOT / "deploy/prometheus/alerts.yml"
RULE_TESTS = ROOT / "deploy/prometheus/alerts.test.yml"
DASHBOARD = ROOT / "deploy/grafana/composer-realtime.json"
OURS = re.compile(r"\b(?:realtime|composer|dashboard)_[a-z0-9_]+\b")
"""A metric of this project, as named in an expression."""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert Path(PROMTOOL).exists(), "promtool missing: scripts/test installs Debian's prometheus"
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _panel_expressions() -> dict[str, list[str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {panel["title"]: [target["expr"] for target in panel["targets"]] for panel in panels}


def test_the_alert_rules_pass_promtool_check():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_every_alert_has_unit_tests_that_pass():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    names = {rule["alert"] for rule in _alerts()}
    assert names == tested, f"alerts without a unit test: {names - tested}"
    assert names == firing, f"alerts never shown firing: {names - firing}"
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_panel_expression_is_valid_promql(tmp_path: Path):
    """promtool has no check for a lone expression: each panel's becomes a recording rule."""
    rules = [
        {"record": f"panel_{i}", "expr": expr}
        for i, expr in enumerate(e for exprs in _panel_expressions().values() for e in exprs)
    ]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_has_the_panels_operators_need():
    titles = " | ".join(_panel_expressions()).lower()
    for needed in (
        "streams open",
        "opens and resumes",
        "p50 / p99",
        "link down / database fallback",
        "queue",
        "failure rate by template",
        "304 ratio",
        "5xx, 429 and busy",
        "heartbeats",
        "time goes",
    ):
        assert needed in titles, needed


@pytest.fixture
def busy_server(start_web: Callable[..., WebServer], owner: Any) -> WebServer:
    """A live server that has answered a request, with a job of the last hour."""
    services.job_create(owner=owner, params={"name": "Watched", "template": "token"})
    server = start_web()
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    return server


def test_every_metric_a_panel_or_rule_names_is_exported(busy_server: WebServer):
    text = httpx.get(f"{busy_server.url}/metrics", timeout=10).text
    exported = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if not line.startswith("#")
    }
    named = set(OURS.findall(RULES.read_text()))
    for exprs in _panel_expressions().values():
        named.update(name for expr in exprs for name in OURS.findall(expr))
    assert len(named) >= 15, named
    assert sorted(named - exported) == []
