"""deploy/ecs/ checked offline: the task definitions, services and target group against the
code, the image, Kubernetes and compose (there is no AWS account or container engine here).
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import re
import secrets as secrets_module
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from django.urls import Resolver404, resolve

from tests.test_configuration_docs import INTERNAL, read_by_code

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ECS = DEPLOY / "ecs"
PROCESSES = ("web", "worker", "beat", "migrate")
REQUIRED_IN_PRODUCTION = {
    "DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
    "TENANT_BASE_DOMAIN", "PUBLIC_DOMAIN", "TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS",
}  # fmt: skip
# Fargate's CPU units and the memory (MiB) each allows.
FARGATE_MEMORY = {
    256: range(512, 2049, 512), 512: range(1024, 4097, 1024), 1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024), 4096: range(8192, 30721, 1024),
}  # fmt: skip


def _json(name: str) -> dict[str, Any]:
    return dict(json.loads((ECS / name).read_text()))


def _task(process: str) -> dict[str, Any]:
    return _json(f"task-{process}.json")


def _container(process: str) -> dict[str, Any]:
    containers = _task(process)["containerDefinitions"]
    assert len(containers) == 1
    return dict(containers[0])


def _k8s(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if doc]


def _k8s_container(name: str) -> dict[str, Any]:
    workload = _k8s(name)[0]
    return dict(workload["spec"]["template"]["spec"]["containers"][0])


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ecs_task_definitions", ECS / "task_definitions.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _route_exists(path: str) -> bool:
    """True when the public (operator) and the tenant URLconf both serve `path`."""
    try:
        resolve(path, urlconf="config.urls_public")
        resolve(path, urlconf="config.urls_tenant")
    except Resolver404:
        return False
    return True


def test_every_ecs_file_parses_and_the_task_definitions_are_rendered() -> None:
    for path in ECS.glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict), path.name
    rendered = _renderer().render()
    assert sorted(rendered) == sorted(f"task-{p}.json" for p in PROCESSES)
    for name, text in rendered.items():
        assert (ECS / name).read_text() == text, "run: python deploy/ecs/task_definitions.py"


def test_task_definitions_carry_every_setting_the_deployment_sets() -> None:
    config_map = set(_k8s("configmap.yaml")[0]["data"])
    secret = set(_k8s("secret.example.yaml")[0]["stringData"])
    readable = read_by_code() - set(INTERNAL)
    for process in PROCESSES:
        container = _container(process)
        environment = {item["name"] for item in container["environment"]}
        secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
        names = environment | set(secrets)
        assert not environment & set(secrets), f"{process}: a variable set twice"
        assert names >= REQUIRED_IN_PRODUCTION, REQUIRED_IN_PRODUCTION - names
        assert config_map <= environment, f"{process} lacks {config_map - environment}"
        assert set(secrets) == secret, f"{process}: secrets differ from the Kubernetes Secret"
        assert names <= readable, f"{process} sets variables no code reads: {names - readable}"
        for name, source in secrets.items():
            assert re.fullmatch(
                rf"arn:aws:secretsmanager:[^:]+:\d{{12}}:secret:[\w/+=.@-]+:{name}::"
                rf"|arn:aws:ssm:[^:]+:\d{{12}}:parameter/[\w/.-]+/{name}",
                source,
            ), f"{process}: {name} must come from Secrets Manager or SSM, not {source}"
        values = {item["name"]: item["value"] for item in container["environment"]}
        assert values["DJANGO_ENV"] == "production"


def test_every_process_runs_what_kubernetes_and_compose_run() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())["services"]
    assert _container("web")["command"] == _k8s_container("web.yaml")["args"]
    assert _container("web")["command"] == compose["web"]["command"]
    assert _container("beat")["command"] == _k8s_container("beat.yaml")["args"]
    assert _container("migrate")["command"] == _k8s_container("migrate-job.yaml")["args"]
    assert _container("migrate")["command"] == compose["migrate"]["command"]
    shell, flag, worker = _container("worker")["command"]
    assert (shell, flag) == ("sh", "-c")
    assert worker.startswith("exec celery -A config worker")
    assert "-Q" not in worker  # a plain worker consumes every declared queue


def test_images_and_ports_agree_with_kubernetes_compose_and_the_dockerfile() -> None:
    images = {_container(p)["image"] for p in PROCESSES}
    assert len(images) == 1
    repository, tag = images.pop().rsplit(":", 1)
    assert repository.endswith(".amazonaws.com/di-platform")
    kustomize = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert {image["name"] for image in kustomize["images"]} == {"di-platform"}
    for name in ("web.yaml", "worker.yaml", "beat.yaml", "migrate-job.yaml"):
        assert _k8s_container(name)["image"] == f"di-platform:{tag}"
    compose = yaml.safe_load((DEPLOY / "docker-compose.prod.yml").read_text())["services"]
    assert compose["web"]["image"] == f"${{DI_IMAGE:-di-platform:{tag}}}"

    exposed = re.search(r"^EXPOSE (.+)$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert exposed is not None
    web_ports = {m["containerPort"] for m in _container("web")["portMappings"]}
    assert web_ports == {int(port) for port in exposed.group(1).split()}
    assert web_ports == {p["containerPort"] for p in _k8s_container("web.yaml")["ports"]}
    assert compose["web"]["ports"] == ["8000:8000"]
    worker_ports = {m["containerPort"] for m in _container("worker")["portMappings"]}
    assert worker_ports == {p["containerPort"] for p in _k8s_container("worker.yaml")["ports"]}
    metrics = {item["name"]: item["value"] for item in _container("web")["environment"]}
    assert int(metrics["METRICS_PORT"]) in web_ports & worker_ports

    service = _json("service-web.json")
    target_group = _json("target-group-web.json")
    (balancer,) = service["loadBalancers"]
    assert balancer["containerName"] == _container("web")["name"]
    assert balancer["containerPort"] == target_group["Port"] == 8000
    assert balancer["targetGroupArn"].split("/")[1] == target_group["Name"]
    assert target_group["TargetType"] == "ip"  # awsvpc tasks register by IP


def test_health_checks_hit_real_routes() -> None:
    target_group = _json("target-group-web.json")
    assert target_group["HealthCheckPath"] == "/health/ready"
    assert target_group["Matcher"] == {"HttpCode": "200"}  # degraded is 200, unavailable 503
    probe = " ".join(_container("web")["healthCheck"]["command"])
    (web_path,) = re.findall(r"http://127\.0\.0\.1:8000(/[\w/]+)", probe)
    assert "PUBLIC_DOMAIN" in probe  # the host ALLOWED_HOSTS accepts
    dockerfile = re.search(
        r"http://127\.0\.0\.1:8000(/[\w/]+)", (DEPLOY / "Dockerfile").read_text()
    )
    assert dockerfile is not None
    k8s_paths = {
        _k8s_container("web.yaml")[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    for path in {target_group["HealthCheckPath"], web_path, dockerfile.group(1), *k8s_paths}:
        assert _route_exists(path), f"{path} is not a route"
    assert not _route_exists("/health/nothing")  # the check can fail
    worker = " ".join(_container("worker")["healthCheck"]["command"])
    assert "127.0.0.1:9808/metrics" in worker  # the worker's metrics server, not Django
    assert "healthCheck" not in _container("beat")
    assert "healthCheck" not in _container("migrate")


def test_web_and_worker_share_media_and_indexes_on_efs() -> None:
    for process in PROCESSES:
        task = _task(process)
        container = _container(process)
        volumes = {volume["name"]: volume for volume in task["volumes"]}
        mounts = {m["containerPath"]: m["sourceVolume"] for m in container["mountPoints"]}
        assert {"/tmp", "/var/lib/di"} <= set(mounts)  # writable beside a read-only root
        assert container["readonlyRootFilesystem"] is True
        assert container["user"] == "10001:10001"
        if process not in ("web", "worker"):
            assert not any("efsVolumeConfiguration" in v for v in volumes.values())
            continue
        environment = {item["name"]: item["value"] for item in container["environment"]}
        for variable in ("MEDIA_ROOT", "INDEX_ROOT"):
            efs = volumes[mounts[environment[variable]]]["efsVolumeConfiguration"]
            assert efs["transitEncryption"] == "ENABLED"
            assert efs["authorizationConfig"]["iam"] == "ENABLED"
            assert efs["authorizationConfig"]["accessPointId"].startswith("fsap-")
    web_volumes = _task("web")["volumes"]
    worker_volumes = _task("worker")["volumes"]
    assert web_volumes == worker_volumes  # the same files and the same index files


def test_tasks_log_to_cloudwatch_and_fit_fargate() -> None:
    for process in PROCESSES:
        task = _task(process)
        container = _container(process)
        assert task["requiresCompatibilities"] == ["FARGATE"]
        assert task["networkMode"] == "awsvpc"
        assert int(task["memory"]) in FARGATE_MEMORY[int(task["cpu"])], process
        assert task["executionRoleArn"].startswith("arn:aws:iam::")
        assert container["stopTimeout"] <= 120  # Fargate's longest
        log = container["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-stream-prefix"] == process
        assert {"awslogs-group", "awslogs-region"} <= set(log["options"])


def test_services_keep_web_available_and_beat_single() -> None:
    web = _json("service-web.json")
    assert web["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert web["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"] is True
    assert web["desiredCount"] >= 2
    assert web["healthCheckGracePeriodSeconds"] >= 60  # search warm-up before serving
    beat = _json("service-beat.json")
    assert beat["desiredCount"] == 1
    assert beat["deploymentConfiguration"]["maximumPercent"] == 100  # never two beats
    for name, process in (("service-web.json", "web"), ("service-worker.json", "worker"),
                          ("service-beat.json", "beat")):  # fmt: skip
        service = _json(name)
        assert service["taskDefinition"] == _task(process)["family"]
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED"


# --- the entrypoint lets the load balancer's health checks in ------------------------------


@pytest.fixture
def task_metadata() -> Iterator[str]:
    """A stand-in for the ECS task metadata endpoint (container metadata, version 4)."""

    class Metadata(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {"Name": "web", "Networks": [{"NetworkMode": "awsvpc",
                                              "IPv4Addresses": ["10.0.2.106"]}]}
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Metadata)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v4/abc"
    finally:
        server.shutdown()


def _allowed_hosts_after_entrypoint(extra: dict[str, str]) -> str:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {"PATH": path, "ALLOWED_HOSTS": ".example.com", **extra}
    done = subprocess.run(
        [str(DEPLOY / "entrypoint.sh"), "sh", "-c", 'printf %s "$ALLOWED_HOSTS"'],
        env=env, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout


def test_on_ecs_the_task_address_is_an_allowed_host(task_metadata: str) -> None:
    hosts = _allowed_hosts_after_entrypoint({"ECS_CONTAINER_METADATA_URI_V4": task_metadata})
    assert hosts == ".example.com,10.0.2.106"
    assert _allowed_hosts_after_entrypoint({}) == ".example.com"  # elsewhere: unchanged
    unreachable = {"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:9/v4/none"}
    assert _allowed_hosts_after_entrypoint(unreachable) == ".example.com"  # and still starts


# --- each target's environment is a working production configuration -----------------------


def _target_environment(target: str) -> dict[str, str]:
    if target == "ecs":
        container = _container("web")
        env = {item["name"]: item["value"] for item in container["environment"]}
        secrets = {item["name"]: "" for item in container["secrets"]}
    elif target == "kubernetes":
        env = {k: str(v) for k, v in _k8s("configmap.yaml")[0]["data"].items()}
        secrets = {k: str(v) for k, v in _k8s("secret.example.yaml")[0]["stringData"].items()}
    else:
        lines = (DEPLOY / "env.prod.example").read_text().splitlines()
        env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        secrets = {}
    # What the operator fills in: a real key and reachable-looking stores.
    secrets.update(
        SECRET_KEY=secrets_module.token_urlsafe(64),
        DATABASE_URL="postgres://di:pw@db.invalid:5432/di",
        REDIS_URL="redis://redis.invalid:6379/0",
    )
    return {**env, **secrets}


@pytest.mark.parametrize("target", ["ecs", "kubernetes", "compose"])
def test_each_targets_environment_passes_djangos_deployment_checks(target: str) -> None:
    """The settings load from exactly that environment (every required variable there, every
    value parsed) and `check --deploy` finds nothing to warn about: HTTPS redirect, HSTS,
    secure cookies, DEBUG off. (A developer's own `.env` could fill a gap here; CI has none.)"""
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update(_target_environment(target))
    assert env["DJANGO_ENV"] == "production"
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
