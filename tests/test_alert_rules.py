"""The alert rules (deploy/prometheus/alerts.yml) are valid and each fires when it should.

`promtool check rules` on the file, then `promtool test rules` on the cases in
alerts_cases.yml, whose firing alerts get their expected annotations filled in here from
alerts.yml (label templates resolved), so each runbook is written once. promtool comes from
Debian's `prometheus` package; `.ci/run` installs it (REQUIRE_PROMTOOL=1 there: a missing
promtool fails instead of skipping). The alert tables of README.md and docs/operations.md list
every alert with its duration and severity.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
_LABEL = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("REQUIRE_PROMTOOL"):
            pytest.fail("promtool is missing: apt-get install -y prometheus")
        pytest.skip("promtool is missing: apt-get update && apt-get install -y prometheus")
    return found


def _rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def _annotations(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    """The alert's annotations as Prometheus renders them for these labels."""
    rendered = {}
    for key, text in rule.get("annotations", {}).items():
        assert "$value" not in text, f"{rule['alert']}: tested annotations cannot use $value"
        rendered[key] = _LABEL.sub(lambda match: labels.get(match.group(1), ""), text)
    return rendered


def test_every_rule_is_valid_and_has_a_runbook() -> None:
    done = subprocess.run(
        [_promtool(), "check", "rules", str(PROMETHEUS / "alerts.yml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for name, rule in _rules().items():
        assert rule["labels"]["severity"] in {"page", "ticket"}, name
        assert rule["annotations"]["summary"].endswith("."), name
        assert len(rule["annotations"]["runbook"]) > 60, name


def test_each_alert_fires_on_trouble_and_stays_quiet_when_healthy(tmp_path: Path) -> None:
    rules = _rules()
    cases = yaml.safe_load((PROMETHEUS / "alerts_cases.yml").read_text())
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                labels = {"alertname": check["alertname"], **alert["exp_labels"]}
                alert["exp_annotations"] = _annotations(rules[check["alertname"]], labels)
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == set(rules), f"alerts never shown to fire: {sorted(set(rules) - fired)}"
    assert quiet == set(rules), f"alerts never shown to stay quiet: {sorted(set(rules) - quiet)}"
    cases["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    filled = tmp_path / "alerts_test.yml"
    filled.write_text(yaml.safe_dump(cases, sort_keys=False))
    done = subprocess.run(
        [_promtool(), "test", "rules", str(filled)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert "alerts.yml" in [Path(path).name for path in config["rule_files"]]
    assert config["alerting"]["alertmanagers"]


def _listed_alerts(path: Path) -> dict[str, tuple[str, str]]:
    """{alert: (its `for` as the table words it, severity)} from a page's alert table."""
    rows = re.findall(r"^\| `(\w+)` \| .*\((\d+ (?:min|h))\) \| (\w+) \|", path.read_text(), re.M)
    return {name: (duration, severity) for name, duration, severity in rows}


@pytest.mark.parametrize("page", ["README.md", "docs/operations.md"])
def test_the_alert_tables_list_every_alert_with_its_duration_and_severity(page: str) -> None:
    words = {"m": "min", "h": "h"}
    expected = {
        name: (f"{rule['for'][:-1]} {words[rule['for'][-1]]}", rule["labels"]["severity"])
        for name, rule in _rules().items()
    }
    assert _listed_alerts(ROOT / page) == expected
