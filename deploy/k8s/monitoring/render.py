"""Write prometheusrule.yaml beside this file from deploy/prometheus/alerts.yml.

    python deploy/k8s/monitoring/render.py

The Prometheus Operator reads alert rules from a PrometheusRule object; the rules themselves
live once, in alerts.yml (tested with promtool). tests/test_deploy.py fails when the two differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE.parent.parent / "prometheus" / "alerts.yml"
TARGET = HERE / "prometheusrule.yaml"
HEADER = """\
# Generated from deploy/prometheus/alerts.yml by render.py (beside this file); do not edit.
# For the Prometheus Operator (kube-prometheus):
#   kubectl apply -f deploy/k8s/monitoring/prometheusrule.yaml
# Not in kustomization.yaml: the PrometheusRule kind exists only where the operator runs.
"""


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render() -> str:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "di-platform",
            "labels": {"app.kubernetes.io/name": "di-platform"},
        },
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(rule, Dumper=_Dumper, sort_keys=False, width=100)


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
