"""Write the ECS/Fargate task definitions beside this file: web, worker, beat and migrate.

    python deploy/ecs/task_definitions.py

Every process runs the one image with the same settings as on Kubernetes: the environment is
the ConfigMap's (deploy/k8s/configmap.yaml) and the secrets are the Secret's keys
(deploy/k8s/secret.example.yaml), read here from one Secrets Manager secret. Edit the
constants below (account, region, file system, roles) and render again;
tests/test_deploy_ecs.py fails when the stored JSON and this script disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
K8S = HERE.parent / "k8s"

ACCOUNT = "123456789012"
REGION = "eu-west-1"
FAMILY = "di-platform"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/di-platform:latest"
LOG_GROUP = "/ecs/di-platform"
# One EFS file system, one access point per folder (each creates its root as uid/gid 10001).
FILE_SYSTEM = "fs-0123456789abcdef0"
ACCESS_POINTS = {"media": "fsap-0123456789abcdef1", "indexes": "fsap-0123456789abcdef2"}
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/di-platform-task-execution"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/di-platform-task"
# One Secrets Manager secret holding a JSON object with every key of the Kubernetes Secret
# (SECRET_KEY, DATABASE_URL, REDIS_URL, OPENAI_API_KEY, SENTRY_DSN; empty values allowed).
# Use the secret's full ARN (with its six-character suffix). An SSM parameter works the same
# way (`valueFrom` its ARN) for values that are never empty.
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:di-platform-AbCdEf"

WEB_PORT = 8000
METRICS_PORT = 9808
PUBLIC_HOST_PROBE = (
    "import os, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/health/live', "
    "headers={'Host': os.environ['PUBLIC_DOMAIN']}), timeout=4)"
)
METRICS_PROBE = "import urllib.request as u; u.urlopen('http://127.0.0.1:9808/metrics', timeout=4)"

# Fargate sizes (CPU units, MiB) as on 2-core Kubernetes nodes (deploy/k8s/*.yaml limits).
PROCESSES: dict[str, dict[str, Any]] = {
    "web": {
        "size": (2048, 4096),
        "command": ["gunicorn", "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"],
        "ports": [WEB_PORT, METRICS_PORT],
        "probe": PUBLIC_HOST_PROBE,
        "data": True,
        "stop": 40,
    },
    "worker": {
        "size": (2048, 4096),
        # ECS does not expand variables in a command; the shell does.
        "command": [
            "sh",
            "-c",
            "exec celery -A config worker -l INFO --concurrency=${WORKER_CONCURRENCY:-2}",
        ],
        "ports": [METRICS_PORT],
        "probe": METRICS_PROBE,
        "data": True,
        # Fargate's longest: warm shutdown lets running ingestions finish.
        "stop": 120,
    },
    "beat": {
        "size": (256, 512),
        "command": [
            "celery",
            "-A",
            "config",
            "beat",
            "-l",
            "INFO",
            "-s",
            "/var/lib/di/celerybeat-schedule",
        ],
        "ports": [],
        "probe": None,
        "data": False,
        "stop": 30,
    },
    "migrate": {
        "size": (1024, 2048),
        "command": [
            "python",
            "manage.py",
            "migrate_schemas",
            "--noinput",
            "--executor=multiprocessing",
        ],
        "ports": [],
        "probe": None,
        "data": False,
        "stop": 30,
    },
}


def _k8s(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((K8S / name).read_text()))


def environment() -> list[dict[str, str]]:
    data = _k8s("configmap.yaml")["data"]
    return [{"name": name, "value": str(value)} for name, value in sorted(data.items())]


def secrets() -> list[dict[str, str]]:
    names = sorted(_k8s("secret.example.yaml")["stringData"])
    return [{"name": name, "valueFrom": f"{SECRET_ARN}:{name}::"} for name in names]


def _container(process: str, spec: dict[str, Any]) -> dict[str, Any]:
    mounts = [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False},  # noqa: S108
        {"sourceVolume": "var", "containerPath": "/var/lib/di", "readOnly": False},
    ]
    if spec["data"]:
        mounts += [
            {"sourceVolume": folder, "containerPath": f"/data/{folder}", "readOnly": False}
            for folder in ACCESS_POINTS
        ]
    container: dict[str, Any] = {
        "name": process,
        "image": IMAGE,
        "essential": True,
        "command": spec["command"],
        "portMappings": [
            {
                "containerPort": port,
                "protocol": "tcp",
                "name": "http" if port == WEB_PORT else "metrics",
            }
            for port in spec["ports"]
        ],
        "environment": environment(),
        "secrets": secrets(),
        "mountPoints": mounts,
        "readonlyRootFilesystem": True,
        "user": "10001:10001",
        "stopTimeout": spec["stop"],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": LOG_GROUP,
                "awslogs-region": REGION,
                "awslogs-stream-prefix": process,
                "awslogs-create-group": "true",
            },
        },
    }
    if spec["probe"]:
        container["healthCheck"] = {
            "command": ["CMD", "python", "-c", spec["probe"]],
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 60,
        }
    return container


def _volumes(spec: dict[str, Any]) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [{"name": "tmp"}, {"name": "var"}]  # task storage
    if spec["data"]:
        volumes += [
            {
                "name": folder,
                "efsVolumeConfiguration": {
                    "fileSystemId": FILE_SYSTEM,
                    "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": access_point, "iam": "ENABLED"},
                },
            }
            for folder, access_point in ACCESS_POINTS.items()
        ]
    return volumes


def task_definition(process: str) -> dict[str, Any]:
    spec = PROCESSES[process]
    cpu, memory = spec["size"]
    return {
        "family": f"{FAMILY}-{process}",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": str(cpu),
        "memory": str(memory),
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "executionRoleArn": EXECUTION_ROLE,
        "taskRoleArn": TASK_ROLE,
        "containerDefinitions": [_container(process, spec)],
        "volumes": _volumes(spec),
    }


def render() -> dict[str, str]:
    """{file name: JSON text} of every task definition."""
    return {
        f"task-{process}.json": json.dumps(task_definition(process), indent=2) + "\n"
        for process in PROCESSES
    }


if __name__ == "__main__":
    for name, text in render().items():
        (HERE / name).write_text(text)
        print(f"wrote deploy/ecs/{name}")
