"""The GitHub workflow, checked offline: it is where the image is built and run, and the
deploy job ships only what every other job passed, only from main."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def _jobs() -> dict[str, dict[str, Any]]:
    return dict(_workflow()["jobs"])


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_the_workflow_runs_on_pushes_and_pull_requests_with_read_only_defaults() -> None:
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: `on` is true
    assert set(triggers) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    for job in _jobs().values():  # every action pinned to a version
        assert all(re.search(r"@v?\d", uses) for uses in _uses(job)), _uses(job)


def test_tests_and_lint_still_run_through_the_ci_script() -> None:
    test = _jobs()["test"]
    assert "bash .ci/run" in _runs(test)
    assert {"postgres", "redis"} <= set(test["services"])
    assert "make lint" in (ROOT / ".ci" / "run").read_text()
    # The tools .ci/run would otherwise apt-get as root are installed with sudo beforehand.
    for package in ("chromium", "prometheus", "pgbouncer"):
        assert re.search(rf"sudo apt-get install -y [^\n]*\b{package}\b", _runs(test)), package


def test_the_image_is_built_and_answers_ready_against_postgres_and_redis() -> None:
    image = _jobs()["image"]
    assert {image["services"]["postgres"]["image"], image["services"]["redis"]["image"]} == {
        "postgres:15",
        "redis:7",
    }
    (build,) = [s for s in image["steps"] if s.get("uses", "").startswith("docker/build-push")]
    assert build["with"]["file"] == "deploy/Dockerfile"
    assert (ROOT / build["with"]["file"]).is_file()
    runs = _runs(image)
    assert "migrate_schemas --noinput" in runs
    assert "celery -A config worker" in runs
    (ready,) = re.findall(r"curl [^\n]*http://127\.0\.0\.1:8000(/[\w/]+)", runs)
    assert resolve(ready, urlconf="config.urls_public")  # a real route
    assert ready == "/health/ready"
    assert '.status == "ok"' in runs
    # The host the check sends is one the image's settings accept.
    env_file = re.search(r"<<'EOF'\n(.*?)\n\s*EOF", runs, re.DOTALL)
    assert env_file is not None
    settings = dict(line.strip().split("=", 1) for line in env_file.group(1).splitlines())
    assert settings["DJANGO_ENV"] == "production"
    assert re.search(rf'-H "Host: {settings["ALLOWED_HOSTS"]}"', runs)


def test_the_security_job_audits_every_pinned_requirements_file_and_the_image() -> None:
    security = _jobs()["security"]
    runs = _runs(security)
    audited = set(re.findall(r"-r (requirements/[\w.-]+\.txt)", runs))
    pinned = {f"requirements/{p.name}" for p in (ROOT / "requirements").glob("*.txt")}
    assert pinned <= audited, pinned - audited
    assert "pip-audit --strict" in runs
    (scan,) = [s for s in security["steps"] if s.get("uses", "").startswith("aquasecurity/trivy")]
    assert scan["with"]["image-ref"] == "${{ env.IMAGE }}"
    assert _workflow()["env"]["IMAGE"]
    assert scan["with"]["exit-code"] == "1"


def test_deploy_runs_only_on_main_after_every_other_job_in_production() -> None:
    jobs = _jobs()
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == set(jobs) - {"deploy"}
    condition = deploy["if"]
    assert "github.event_name == 'push'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    assert deploy["env"]["TAG"] == "${{ github.sha }}"


def test_deploy_has_a_kubernetes_and_an_ecs_variant_chosen_by_a_variable() -> None:
    deploy = _jobs()["deploy"]
    by_target: dict[str, list[dict[str, Any]]] = {"kubernetes": [], "ecs": []}
    for step in deploy["steps"]:
        found = re.search(r"vars\.DEPLOY_TARGET == '(\w+)'", step.get("if", ""))
        if found:
            by_target[found.group(1)].append(step)
    kubernetes = "\n".join(step.get("run", "") for step in by_target["kubernetes"])
    assert 'kustomize edit set image "di-platform=' in kubernetes
    assert "di-platform:$TAG" in kubernetes
    # Migrations finish before web, worker and beat roll out.
    assert kubernetes.index("job/di-platform-migrate") < kubernetes.index("apply -k .\n")
    for name in ("web", "worker", "beat"):
        assert f"di-platform-{name}" in kubernetes or "di-platform-$deployment" in kubernetes

    ecs = by_target["ecs"]
    rendered = [s for s in ecs if s.get("uses", "").startswith("aws-actions/amazon-ecs-render")]
    files = [s["with"]["task-definition"] for s in rendered]
    assert sorted(files) == sorted(
        f"deploy/ecs/task-{p}.json" for p in ("migrate", "web", "worker", "beat")
    )
    for step in rendered:  # the container the image goes into exists in that task definition
        task = json.loads((ROOT / step["with"]["task-definition"]).read_text())
        assert step["with"]["container-name"] in {c["name"] for c in task["containerDefinitions"]}
        assert step["with"]["image"] == "${{ steps.push.outputs.uri }}"
    deployed = [s for s in ecs if s.get("uses", "").startswith("aws-actions/amazon-ecs-deploy")]
    services = {s["with"]["service"] for s in deployed if "service" in s["with"]}
    for service in services:  # each has its service definition in deploy/ecs/
        path = ROOT / "deploy" / "ecs" / f"service-{service.removeprefix('di-platform-')}.json"
        assert json.loads(path.read_text())["serviceName"] == service
    assert services == {"di-platform-web", "di-platform-worker", "di-platform-beat"}
    names = [s.get("name", "") for s in ecs]
    assert names.index("Run the migrations and wait for them") < names.index("Roll out web")
    assert all(
        s["with"].get("wait-for-service-stability") for s in deployed if "service" in s["with"]
    )
